import { createHash } from "node:crypto";
import { datasetName, type DatasetId } from "../../market.js";

/** md5 hex of the normalized dataset's name, exactly as the original Python service names its files. */
export function datasetKey(id: DatasetId): string {
  return createHash("md5").update(datasetName(id)).digest("hex");
}
