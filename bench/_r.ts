import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { klinesCsv } from "./klines.js";
import { columnarBytesOf } from "../src/formats/columnar.js";
if (!existsSync("/tmp/year.csv")) writeFileSync("/tmp/year.csv", klinesCsv(525_600));
const csv = readFileSync("/tmp/year.csv");
for (let i = 0; i < 4; i++) { const s = performance.now(); await columnarBytesOf("parquet", [csv]); console.log(performance.now() - s); }
