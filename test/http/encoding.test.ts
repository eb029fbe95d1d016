import { describe, expect, it } from "vitest";
import { negotiateCoding } from "../../src/http/encoding.js";

describe("negotiateCoding", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["gzip", "gzip"],
    ["br", "br"],
    ["gzip, br", "br"],
    ["gzip;q=1, br;q=0.8", "gzip"],
    ["GZIP;Q=0.5", "gzip"],
    ["deflate, identity", null],
    ["*", "br"],
    ["*, br;q=0", "gzip"],
    ["gzip;q=0", null],
    ["gzip;q=oops", null],
    [" br ; q=0.2 , gzip ; q=0.1", "br"],
  ])("%s -> %s", (header, coding) => {
    expect(negotiateCoding(header)).toBe(coding);
  });
});
