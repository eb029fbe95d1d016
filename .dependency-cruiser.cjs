// @ts-check
/**
 * The house's layers, held by tooling (`npm run lint` runs it): no import circle between files, and none between
 * folders — a folder of src never imports one that imports it back; the admin page's browser code (web/) sits above
 * the server, which serves only the bundle built from it.
 * @type {import("dependency-cruiser").IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: "no-file-circles",
      severity: "error",
      comment: "Two files that import each other, however far round, are one job: split out what both need.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-folder-circles",
      severity: "error",
      comment: "A folder that imports one that imports it back: move the shared fact down into a folder both import.",
      scope: "folder",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-web-in-server",
      severity: "error",
      comment:
        "The server and its tools never import the browser's source: web/ imports shared facts from src/, and the " +
        "server serves only the bundle dev/build-admin.ts builds from it (src/http/admin/script.bundle.js).",
      from: { path: "^(src|functions|dev|bench|deploy)/" },
      to: { path: "^web/" },
    },
    {
      name: "no-node-in-web",
      severity: "error",
      comment: "web/ runs in the browser: Node's modules are not there.",
      from: { path: "^web/" },
      to: { dependencyTypes: ["core"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
