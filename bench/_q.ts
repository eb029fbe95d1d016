import { klinesCsv } from "./klines.js";
import { candleBatchesOf, candleValuesOf } from "../src/formats/candle-columns.js";
import { createParquetEncoder } from "../src/formats/parquet.js";
import { createArrowEncoder } from "../src/formats/arrow.js";
import { CANDLE_KINDS } from "../src/formats/candle-columns.js";
import { KLINE_COLUMNS } from "../src/market.js";
const csv = Buffer.from(klinesCsv(525_600));
async function* one() { for (let i = 0; i < csv.length; i += 1 << 20) yield csv.subarray(i, i + (1 << 20)); }
for (let r = 0; r < 2; r++) {
let s = performance.now(); const b = await candleBatchesOf(one()); console.log("parse", (performance.now() - s).toFixed(0), b?.length);
s = performance.now(); const v = b!.map(candleValuesOf); console.log("values", (performance.now() - s).toFixed(0));
s = performance.now(); const pq = createParquetEncoder(KLINE_COLUMNS, CANDLE_KINDS); pq.start(); v.forEach((c, i) => pq.batch(c, b![i]!.rows)); pq.end(); console.log("parquet", (performance.now() - s).toFixed(0));
s = performance.now(); const ar = createArrowEncoder(KLINE_COLUMNS, CANDLE_KINDS); ar.start(); v.forEach((c, i) => ar.batch(c, b![i]!.rows)); ar.end(); console.log("arrow", (performance.now() - s).toFixed(0));
}
