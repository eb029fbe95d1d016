export * from "./csv.js";
export * from "./data-cache.js";
export * from "./dataset.js";
export * from "./meta.js";
export * from "./sweep.js";
export * from "./timestamp.js";
export * from "./validity.js";
