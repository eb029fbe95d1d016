/**
 * The forms an answer comes in, and their media types. Apart from the encoders (columnar.ts) so that what only
 * names the formats (validation, routing) bundles none of their libraries.
 */
export const FORMATS = ["json", "csv", "parquet", "arrow", "feather"] as const;
export type Format = (typeof FORMATS)[number];
export type ColumnarFormat = Extract<Format, "parquet" | "arrow">;

export const MEDIA_TYPES: Record<Format, string> = {
  json: "application/json",
  csv: "text/csv",
  parquet: "application/vnd.apache.parquet",
  arrow: "application/vnd.apache.arrow.stream",
  // The Arrow IPC file format (Feather v2): what pandas.read_feather and freqtrade's data files read.
  feather: "application/vnd.apache.arrow.file",
};

export const isColumnar = (format: Format): format is ColumnarFormat => format === "parquet" || format === "arrow";

/** The format an Accept header asks for: the first of its media types the service answers in; json otherwise. */
export function formatOfAccept(accept: string | undefined): Format {
  if (!accept) return "json";
  for (const part of accept.split(",")) {
    const type = part.split(";")[0]?.trim().toLowerCase();
    const format = FORMATS.find((candidate) => MEDIA_TYPES[candidate] === type);
    if (format) return format;
  }
  return "json";
}
