// @ts-check
/**
 * The house's layers, held by tooling (`npm run lint` runs it): no import circle between files, and none between
 * folders — a folder of src never imports one that imports it back.
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
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
