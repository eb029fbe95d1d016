import { klinesCsv } from "./klines.js";
import { columnarBytesOf, generalColumnarOf } from "../src/formats/columnar.js";
const csv = Buffer.from(klinesCsv(525_600));
async function* one() { for (let i = 0; i < csv.length; i += 1 << 20) yield csv.subarray(i, i + (1 << 20)); }
async function general(format: "parquet" | "arrow") { const parts = []; for await (const p of await generalColumnarOf(format, async () => one())) parts.push(p); return Buffer.concat(parts); }
const t: Record<string, number[]> = {};
for (let round = 0; round < 5; round++) {
  for (const format of ["parquet", "arrow"] as const) {
    let s = performance.now(); await columnarBytesOf(format, [csv]); (t[format + " fast"] ??= []).push(performance.now() - s);
    if (round < 2) { s = performance.now(); await general(format); (t[format + " general"] ??= []).push(performance.now() - s); }
  }
}
for (const [k, v] of Object.entries(t)) console.log(k.padEnd(16), v.map((x) => (x / 1000).toFixed(2)).join(" "));
