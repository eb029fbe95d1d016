import { klinesCsv } from "./klines.js";
import { columnarBytesOf } from "../src/formats/columnar.js";
const csv = Buffer.from(klinesCsv(525_600));
for (let i = 0; i < 3; i++) { const s = performance.now(); await columnarBytesOf("parquet", [csv]); console.log(performance.now() - s); }
