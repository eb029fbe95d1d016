import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { tableFromIPC } from "apache-arrow";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { csvToRows } from "../../src/csv/check.js";
import { startBinanceStandIn, type BinanceStandIn } from "../support/binance-standin.js";
import { testApp } from "../support/app.js";
import { recordingStore } from "../support/recording-store.js";
import { tempDir } from "../support/fixtures.js";

const NOW = "2026-11-25T12:00:30.000Z";
const YEAR = "/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=2024-01-01&end_date=2024-12-31";
/** Starts and ends inside a month: its first and last months are converted, the ones between copied. */
const UNEVEN = "/api/v1/klines?symbol=BTCUSDT&interval=1h&start_date=2024-01-15&end_date=2024-04-10";

let standIn: BinanceStandIn;
let clock: Clock | null = null;
beforeAll(async () => {
  standIn = await startBinanceStandIn({ now: () => (clock ? clock.now().getTime() : Date.parse(NOW)) });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

async function build(backgroundForms = true) {
  const { store, reads } = recordingStore();
  const built = testApp({ binanceUrl: standIn.url, now: NOW, store, backgroundForms });
  clock = built.clock;
  return { ...built, reads };
}

/** The candles' open times and closes, as DuckDB reads a Parquet answer. */
async function parquetRows(bytes: ArrayBuffer): Promise<[number, number][]> {
  const path = join(tempDir(), "range.parquet");
  writeFileSync(path, Buffer.from(bytes));
  const duck = await (await DuckDBInstance.create(":memory:")).connect();
  const rows = (await duck.runAndReadAll(`SELECT epoch_ms(timestamp) AS t, close FROM read_parquet('${path}') ORDER BY t`)).getRowObjectsJS();
  duck.closeSync();
  return rows.map((row) => [Number(row.t), row.close as number]);
}

const csvRowsOf = async (res: Response): Promise<[number, number][]> =>
  csvToRows(await res.text()).map((row) => [Date.parse(row.timestamp as string), row.close as number]);

describe("klines Parquet and Arrow answers from the months' kept forms", () => {
  for (const [name, url] of [["a year of whole months", YEAR], ["a range that starts and ends inside months", UNEVEN]] as const) {
    it(`assemble ${name} from the kept forms (X-Parquet HIT): the same candles as the CSV, and no whole month's CSV read`, async () => {
      const { app, deriver, reads } = await build();
      const csv = await csvRowsOf(await app.request(`${url}&format=csv`));
      await deriver.idle();

      reads.length = 0;
      const parquet = await app.request(`${url}&format=parquet`);
      expect(parquet.status).toBe(200);
      expect(parquet.headers.get("X-Parquet")).toBe("HIT");
      const bytes = await parquet.arrayBuffer();
      expect(Number(parquet.headers.get("Content-Length"))).toBe(bytes.byteLength);
      expect(await parquetRows(bytes)).toEqual(csv);
      const csvReads = reads.filter((key) => key.endsWith(".csv"));
      expect(csvReads.length).toBeLessThanOrEqual(url === UNEVEN ? 2 : 0);

      const arrow = await app.request(`${url}&format=arrow`);
      expect(arrow.headers.get("X-Arrow")).toBe("HIT");
      const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
      expect(table.numRows).toBe(csv.length);
      expect(Array.from(table.getChild("close")?.toArray() as Float64Array)).toEqual(csv.map(([, close]) => close));
      expect(Array.from(table.getChild("timestamp")?.toArray() as ArrayLike<number | bigint>, Number)).toEqual(csv.map(([t]) => t));
    });
  }

  it("convert the range (X-Parquet MISS) while a month has no kept form yet: the same candles either way", async () => {
    const { app, cache, deriver } = await build(false);
    const first = await app.request(`${YEAR}&format=parquet`);
    expect(first.status).toBe(200);
    expect(first.headers.get("X-Parquet")).toBe("MISS");
    const converted = await parquetRows(await first.arrayBuffer());
    const underived: Parameters<typeof deriver.derive>[0][] = [];
    await cache.sweep({ underived: (id) => underived.push(id) });
    expect(underived).toHaveLength(12);
    for (const id of underived) await deriver.derive(id);
    const kept = await app.request(`${YEAR}&format=parquet`);
    expect(kept.headers.get("X-Parquet")).toBe("HIT");
    expect(await parquetRows(await kept.arrayBuffer())).toEqual(converted);
    expect(converted).toHaveLength(366 * 24);
  });
});
