import { klinesCsv } from "./klines.js";
import { columnarBytesOf, generalColumnarOf } from "../src/formats/columnar.js";
const csv = Buffer.from(klinesCsv(525_600));
async function* one() { for (let i = 0; i < csv.length; i += 1 << 20) yield csv.subarray(i, i + (1 << 20)); }
async function general(format: "parquet" | "arrow") { const parts = []; for await (const p of await generalColumnarOf(format, async () => one())) parts.push(p); return Buffer.concat(parts); }
for (let round = 0; round < 3; round++) {
  for (const format of ["parquet", "arrow"] as const) {
    let s = performance.now(); const fast = await columnarBytesOf(format, [csv]); const tf = performance.now() - s;
    s = performance.now(); const slow = round === 0 ? await general(format) : null; const tg = performance.now() - s;
    console.log(format, "fast", tf.toFixed(0), "general", round === 0 ? tg.toFixed(0) : "-", slow ? "equal=" + (Buffer.compare(fast, slow) === 0) : "");
  }
}
