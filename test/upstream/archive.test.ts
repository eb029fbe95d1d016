import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { zipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UpstreamUnavailableError } from "../../src/errors.js";
import { ArchiveRejectedError, archivePath, createBinanceArchive, klinesOf, type ArchivePeriod } from "../../src/upstream/archive.js";
import { zipBomb } from "../support/binance-standin.js";

const MARCH: ArchivePeriod = { kind: "monthly", startMs: Date.UTC(2024, 2, 1), endMs: Date.UTC(2024, 3, 1), maxCandles: 31 * 1440 };
const ROW = (openMs: number, unit = 1) =>
  `${openMs * unit},1.5,2.5,1.25,2.0,10.5,${(openMs + 59_999) * unit + (unit - 1)},21.0,7,5.25,10.5,0`;
const HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore";

describe("archive paths", () => {
  it("names monthly and daily files of spot and USD-M futures as the public archive does, 1M as 1mo", () => {
    expect(archivePath("spot", "BTCUSDT", "1m", MARCH)).toBe("data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-03.zip");
    expect(archivePath("futures", "ETHUSDT", "1M", MARCH)).toBe("data/futures/um/monthly/klines/ETHUSDT/1mo/ETHUSDT-1mo-2024-03.zip");
    const day = { kind: "daily", startMs: Date.UTC(2024, 2, 9), endMs: Date.UTC(2024, 2, 10), maxCandles: 86_400 } as const;
    expect(archivePath("spot", "BTCUSDT", "1s", day)).toBe("data/spot/daily/klines/BTCUSDT/1s/BTCUSDT-1s-2024-03-09.zip");
  });
});

describe("archive rows", () => {
  const first = MARCH.startMs;

  it("reads rows with or without a header row, LF or CRLF, as REST klines", () => {
    const expected = [[first, "1.5", "2.5", "1.25", "2.0", "10.5", first + 59_999, "21.0", 7, "5.25", "10.5", "0"]];
    expect(klinesOf(`${ROW(first)}\n`, MARCH, "f")).toEqual(expected);
    expect(klinesOf(`${HEADER}\r\n${ROW(first)}\r\n`, MARCH, "f")).toEqual(expected);
  });

  it("reads microsecond times as the milliseconds REST gives", () => {
    const [kline] = klinesOf(ROW(first, 1000), MARCH, "f");
    expect(kline?.[0]).toBe(first);
    expect(kline?.[6]).toBe(first + 59_999);
  });

  it.each([
    ["a row before the period", ROW(first - 60_000)],
    ["a row after the period", ROW(MARCH.endMs)],
    ["rows that go backwards", `${ROW(first + 60_000)}\n${ROW(first)}`],
    ["a repeated row", `${ROW(first)}\n${ROW(first)}`],
    ["a row of 11 fields", ROW(first).replace(/,0$/, "")],
    ["a price that is not a number", ROW(first).replace(",1.5,", ",NaN,")],
    ["a header in the middle", `${ROW(first)}\n${HEADER}`],
  ])("rejects the whole file for %s", (_, csv) => {
    expect(() => klinesOf(csv, MARCH, "f")).toThrow(ArchiveRejectedError);
  });

  it("rejects a file of more rows than its period has candles", () => {
    const csv = [0, 1, 2].map((minute) => ROW(first + minute * 60_000)).join("\n");
    expect(klinesOf(csv, { ...MARCH, maxCandles: 3 }, "f")).toHaveLength(3);
    expect(() => klinesOf(csv, { ...MARCH, maxCandles: 2 }, "f")).toThrow(/one row more than the 2 candles/);
  });
});

describe("archive client", () => {
  const files = new Map<string, Buffer | number>();
  let server: Server;
  let baseUrl: string;
  let requests: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      const file = files.get(req.url ?? "");
      if (typeof file === "number") res.writeHead(file).end();
      else if (file) res.writeHead(200).end(file);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    files.clear();
    requests = [];
  });

  const path = `/${archivePath("spot", "BTCUSDT", "1m", MARCH)}`;
  function publish(csv: string, options: { checksumOf?: Buffer } = {}) {
    const zip = Buffer.from(zipSync({ "BTCUSDT-1m-2024-03.csv": new TextEncoder().encode(csv) }));
    const sha256 = createHash("sha256").update(options.checksumOf ?? zip).digest("hex");
    files.set(path, zip);
    files.set(`${path}.CHECKSUM`, Buffer.from(`${sha256}  BTCUSDT-1m-2024-03.zip\n`));
    return zip;
  }
  const read = (request = {}) => createBinanceArchive({ baseUrl, timeoutMs: 2_000 }).klines("spot", "BTCUSDT", "1m", MARCH, request);

  it("reads a verified file, asking for the zip and its checksum, each counted", async () => {
    publish(`${ROW(MARCH.startMs)}\n${ROW(MARCH.startMs + 60_000)}\n`);
    let attempts = 0;
    const klines = await read({ onAttempt: () => attempts++ });
    expect(klines?.map((kline) => kline[0])).toEqual([MARCH.startMs, MARCH.startMs + 60_000]);
    expect(attempts).toBe(2);
    expect(requests.sort()).toEqual([path, `${path}.CHECKSUM`]);
  });

  it("answers null for a file the archive does not have", async () => {
    expect(await read()).toBeNull();
  });

  it("rejects a file whose checksum does not match, or that has none", async () => {
    publish(ROW(MARCH.startMs), { checksumOf: Buffer.from("something else") });
    await expect(read()).rejects.toThrow(/fails its checksum/);
    files.delete(`${path}.CHECKSUM`);
    await expect(read()).rejects.toThrow(ArchiveRejectedError);
  });

  it("rejects a zip cut short even when its checksum is of the cut bytes", async () => {
    const zip = publish(Array.from({ length: 2000 }, (_, i) => ROW(MARCH.startMs + i * 60_000)).join("\n"));
    const cut = zip.subarray(0, Math.floor(zip.length / 2));
    files.set(path, cut);
    files.set(`${path}.CHECKSUM`, Buffer.from(createHash("sha256").update(cut).digest("hex")));
    await expect(read()).rejects.toThrow(ArchiveRejectedError);
  });

  /** Serves `zip` with a .CHECKSUM that matches it. */
  function publishZip(zip: Uint8Array) {
    files.set(path, Buffer.from(zip));
    files.set(`${path}.CHECKSUM`, Buffer.from(createHash("sha256").update(zip).digest("hex")));
  }

  it("rejects a zip bomb that declares its 600 MB before inflating it, and one that lies about it while inflating", async () => {
    publishZip(zipBomb("BTCUSDT-1m-2024-03.csv", 600, false));
    await expect(read()).rejects.toThrow(/declares 629145600 bytes inflated, over the 11428096/);
    publishZip(zipBomb("BTCUSDT-1m-2024-03.csv", 600, true));
    await expect(read()).rejects.toThrow(/inflates past 11428096 bytes/);
  });

  it("rejects a zip whose deflated data is not deflate, even with a matching checksum", async () => {
    const zip = Buffer.from(zipSync({ "BTCUSDT-1m-2024-03.csv": new TextEncoder().encode(ROW(MARCH.startMs).repeat(500)) }));
    // The deflated data starts after the 30-byte header and the name; a block type of 3 does not exist.
    const data = 30 + "BTCUSDT-1m-2024-03.csv".length;
    zip[data] = 0xff;
    publishZip(zip);
    await expect(read()).rejects.toThrow(/is not a whole zip: invalid block type/);
  });

  it("reports an archive that answers 5xx as unavailable, not as a missing file", async () => {
    files.set(path, 503);
    files.set(`${path}.CHECKSUM`, 503);
    await expect(read()).rejects.toThrow(UpstreamUnavailableError);
  });
});
