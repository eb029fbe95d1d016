// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** `npm run lint`: typescript-eslint's recommended type-checked rules over every TypeScript file of the project. */
export default tseslint.config(
  { ignores: ["node_modules/", ".serverless/", ".esbuild/", "coverage/", "test-artifacts/", "cache/", "src/http/admin/script.bundle.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Off: in-memory drivers and test doubles implement async interfaces with async functions that need no await,
      // so that a throw still becomes a rejection.
      "@typescript-eslint/require-await": "off",
      // Leaving a key out by destructuring the rest (`const { A, ...rest } = env`) is how an object loses a field.
      "@typescript-eslint/no-unused-vars": ["error", { ignoreRestSiblings: true }],
    },
  },
  { files: ["**/*.js", "**/*.cjs"], ...tseslint.configs.disableTypeChecked },
  {
    // The CommonJS file osls loads at package time (deploy/functions.cjs).
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly", module: "writable", process: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
