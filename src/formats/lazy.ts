/**
 * The encoders, loaded on the first columnar answer: their libraries (hyparquet-writer, apache-arrow) are in the
 * bundles of the functions that answer these formats, but a cold start that answers CSV or JSON never runs them.
 */
export const loadColumnar = () => import("./columnar.js");
