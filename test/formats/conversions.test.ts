import { describe, expect, it } from "vitest";
import { fixedClock } from "../../src/clock.js";
import { ServiceBusyError } from "../../src/errors.js";
import { createConversions } from "../../src/formats/conversions.js";

const clock = fixedClock("2026-11-25T12:00:00.000Z");

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

/** A signal that fires only when the test says so. */
const manual = () => new AbortController();

describe("conversions", () => {
  it("runs at most `max` at once; the next one waits for a slot and gets it when one is freed", async () => {
    const conversions = createConversions({ max: 2, clock });
    const first = await conversions.stream(async () => chunks("a"), manual().signal);
    const second = await conversions.stream(async () => chunks("b"), manual().signal);
    let third: AsyncGenerator<Uint8Array> | null = null;
    const waiting = conversions.stream(async () => chunks("c"), manual().signal).then((held) => (third = held));

    // Every promise job that can run has run: the third still waits.
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBeNull();
    for await (const chunk of first) expect(new TextDecoder().decode(chunk)).toBe("a");
    await waiting;
    expect(third).not.toBeNull();
    await second.return(undefined);
  });

  it("gives up with ServiceBusyError, saying when to ask again, when its wait ends first", async () => {
    const conversions = createConversions({ max: 1, clock });
    await conversions.stream(async () => chunks("a"), manual().signal);
    const wait = manual();
    const waiting = conversions.stream(async () => chunks("b"), wait.signal);
    wait.abort();
    const error = await waiting.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServiceBusyError);
    expect((error as ServiceBusyError).retryAt?.getTime()).toBeGreaterThan(clock.now().getTime());
  });

  it("frees the slot when the reader stops before the first chunk, or the maker fails", async () => {
    const conversions = createConversions({ max: 1, clock });
    const unread = await conversions.stream(async () => chunks("a", "b"), manual().signal);
    await unread.return(undefined);
    await expect(conversions.stream(() => Promise.reject(new Error("no CSV")), manual().signal)).rejects.toThrow("no CSV");
    const failing = await conversions.stream(async () => {
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield new Uint8Array(1);
        throw new Error("bad row");
      }
      return broken();
    }, manual().signal);
    await expect((async () => {
      for await (const chunk of failing) void chunk;
    })()).rejects.toThrow("bad row");

    const wait = manual();
    const next = await conversions.stream(async () => chunks("c"), wait.signal);
    expect((await next.next()).value).toEqual(new TextEncoder().encode("c"));
  });
});
