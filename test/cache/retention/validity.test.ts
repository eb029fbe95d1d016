import { describe, expect, it } from "vitest";
import { daysFromNow, expiresAt, isFresh } from "../../../src/cache/retention/validity.js";
import { formatCachedAt, parseCachedAt } from "../../../src/time.js";

const rule = { recentWindowDays: 1, recentTtlSeconds: 86_400 };
const now = new Date("2026-11-25T12:00:00.000Z");

describe("validity rule", () => {
  it("counts whole UTC calendar days from end_date to today", () => {
    expect(daysFromNow("2026-11-24", now)).toBe(1);
    expect(daysFromNow("2026-11-24", new Date("2026-11-25T00:00:00Z"))).toBe(1);
    expect(daysFromNow("2026-11-24", new Date("2026-11-25T23:59:59.999Z"))).toBe(1);
    expect(daysFromNow("2026-11-27", now)).toBe(-2);
  });

  it("never expires an entry that ended more than one day ago", () => {
    const entry = { end_date: "2026-11-23", cached_at: "2020-01-01T00:00:00.000" };
    expect(expiresAt(entry, now, rule)).toBeNull();
    expect(isFresh(entry, now, rule)).toBe(true);
  });

  it("gives an entry that ended exactly one day ago 24 hours", () => {
    const entry = { end_date: "2026-11-24", cached_at: "2026-11-24T12:00:00.001" };
    expect(isFresh(entry, now, rule)).toBe(true);
    expect(isFresh({ ...entry, cached_at: "2026-11-24T12:00:00.000" }, now, rule)).toBe(false);
  });

  it("expires at exactly 24 hours after cached_at, not a millisecond before", () => {
    const entry = { end_date: "2026-11-25", cached_at: "2026-11-25T00:00:00.000" };
    expect(isFresh(entry, new Date("2026-11-25T23:59:59.999Z"), rule)).toBe(true);
    expect(isFresh(entry, new Date("2026-11-26T00:00:00.000Z"), rule)).toBe(false);
    expect(expiresAt(entry, now, rule)?.toISOString()).toBe("2026-11-26T00:00:00.000Z");
  });

  it("treats future end dates as recent", () => {
    const entry = { end_date: "2027-01-01", cached_at: "2026-11-24T11:00:00" };
    expect(isFresh(entry, now, rule)).toBe(false);
  });

  it("uses the configured window and time to live", () => {
    const entry = { end_date: "2026-11-22", cached_at: "2026-11-25T11:00:00" };
    expect(isFresh(entry, now, { recentWindowDays: 3, recentTtlSeconds: 3600 })).toBe(false);
    expect(isFresh(entry, now, { recentWindowDays: 3, recentTtlSeconds: 3601 })).toBe(true);
  });

  it("treats an unreadable cached_at on a recent entry as expired", () => {
    expect(isFresh({ end_date: "2026-11-25", cached_at: "yesterday" }, now, rule)).toBe(false);
  });
});

describe("cached_at", () => {
  it("is written as the original does: UTC, milliseconds, no zone suffix", () => {
    expect(formatCachedAt(new Date("2026-11-23T19:51:34.750Z"))).toBe("2026-11-23T19:51:34.750");
  });

  it("reads zone-less forms as UTC, with any number of fraction digits", () => {
    expect(parseCachedAt("2026-11-23T19:51:34.750948")?.toISOString()).toBe("2026-11-23T19:51:34.750Z");
    expect(parseCachedAt("2026-11-23T19:51:34")?.toISOString()).toBe("2026-11-23T19:51:34.000Z");
  });

  it("reads Z and offsets", () => {
    expect(parseCachedAt("2026-11-23T19:51:34.750Z")?.toISOString()).toBe("2026-11-23T19:51:34.750Z");
    expect(parseCachedAt("2026-11-23T21:51:34.750+02:00")?.toISOString()).toBe("2026-11-23T19:51:34.750Z");
  });

  it("refuses what is not a date", () => {
    expect(parseCachedAt("")).toBeNull();
    expect(parseCachedAt("2026-13-45T99:00:00")).toBeNull();
  });
});
