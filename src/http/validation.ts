import { FORMATS, formatOfAccept, type Format } from "../formats/media.js";
import type { Context } from "hono";
import * as z from "zod/mini";
import { COVERAGE_SOURCES, type CoverageQuery } from "../reports/coverage.js";
import { INFO_SORTS, SORT_ORDERS, type InfoQuery } from "../cache/index/page.js";
import { calendarDate, datasetIdSchema, intervalSchema, marketTypeSchema, symbolSchema, type DatasetId } from "../market.js";
import type { FundingId } from "../funding/service.js";
import { ValidationError, type FieldIssue } from "../errors.js";
import { UPLOAD_ID } from "../cache/entries/objects.js";
import { priceKindSchema, type SeriesId } from "../price-kinds.js";

const FIELDS = ["symbol", "interval", "start_date", "end_date", "market_type"] as const;
const REQUIRED = new Set<string>(["symbol", "interval", "start_date", "end_date"]);

/** The dataset named by the query string, or a VALIDATION_ERROR listing every bad field. */
export function datasetFromQuery(c: Context): DatasetId {
  return parseQuery(c, FIELDS, datasetIdSchema, { required: REQUIRED });
}

/**
 * A klines series: the dataset id and `price` (trade, mark, index or premium; default trade, which the series then
 * leaves out, so trade candles are named and kept as they always were). Bad fields are listed together.
 */
export function seriesFromQuery(c: Context): SeriesId {
  const issues: FieldIssue[] = [];
  const id = (() => {
    try {
      return datasetFromQuery(c);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...(error.issues ?? []));
      return null;
    }
  })();
  const prices = c.req.queries("price") ?? [];
  const price = prices.length > 1 ? null : priceKindSchema.safeParse(prices[0] ?? "trade");
  if (price === null) issues.push({ field: "price", message: "is given more than once" });
  else if (!price.success) issues.push({ field: "price", message: price.error.issues[0]?.message ?? "is not a kind of candles" });
  if (issues.length > 0 || !id || !price?.success) throw new ValidationError("Invalid query parameters", issues);
  return price.data === "trade" ? id : { ...id, price: price.data };
}

const fundingIdSchema = z
  .object({ symbol: symbolSchema, start_date: calendarDate, end_date: calendarDate })
  .check(z.refine((id) => id.start_date <= id.end_date, { path: ["end_date"], message: "must not be before start_date" }));

/** A funding range (`symbol`, `start_date`, `end_date`; USD-M futures), or a VALIDATION_ERROR listing every bad field. */
export function fundingFromQuery(c: Context): FundingId {
  const fields = ["symbol", "start_date", "end_date"] as const;
  return parseQuery(c, fields, fundingIdSchema, { required: new Set(fields) });
}

/**
 * The query's `fields` (each at most once, those in `required` present) parsed by `schema`, or a VALIDATION_ERROR
 * listing every bad field, each once.
 */
function parseQuery<T>(
  c: Context,
  fields: readonly string[],
  schema: z.ZodMiniType<T>,
  options: { required?: ReadonlySet<string> } = {},
): T {
  const queries = c.req.queries();
  const issues: FieldIssue[] = [];
  const raw: Record<string, string | undefined> = {};
  for (const field of fields) {
    const values = queries[field] ?? [];
    if (values.length > 1) issues.push({ field, message: "is given more than once" });
    else if (values.length === 0 && options.required?.has(field)) issues.push({ field, message: "is required" });
    raw[field] = values[0];
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? "query");
      if (!issues.some((known) => known.field === field)) issues.push({ field, message: issue.message });
    }
  }
  if (issues.length > 0 || !parsed.success) throw new ValidationError("Invalid query parameters", issues);
  return parsed.data;
}

/** `size_bytes` of an upload: a whole number of bytes from 1 to `maxBytes` (MAX_BODY_MB), or a VALIDATION_ERROR. */
export function uploadSizeFromQuery(c: Context, maxBytes: number): number {
  const schema = z.object({
    size_bytes: z.coerce
      .number({ error: "must be the CSV's size in bytes" })
      .check(z.int("must be a whole number of bytes"), z.minimum(1, "must be at least 1"), z.maximum(maxBytes, `must be at most ${maxBytes} (MAX_BODY_MB)`)),
  });
  return parseQuery(c, ["size_bytes"], schema, { required: new Set(["size_bytes"]) }).size_bytes;
}

/** `upload_id` of a commit, as upload-url answered it, or a VALIDATION_ERROR. */
export function uploadIdFromQuery(c: Context): string {
  const schema = z.object({ upload_id: z.string().check(z.regex(UPLOAD_ID, "must be the upload_id upload-url answered")) });
  return parseQuery(c, ["upload_id"], schema, { required: new Set(["upload_id"]) }).upload_id;
}

/** The answer's form, from `format=` first, then the Accept header (its first media type that is one of ours). */
export function wantedFormat(c: Context, allowed: readonly Format[] = FORMATS): Format {
  const formats = c.req.queries("format") ?? [];
  if (formats.length > 1) throw new ValidationError("Invalid query parameters", [{ field: "format", message: "is given more than once" }]);
  const format = formats[0];
  if (format !== undefined && !allowed.includes(format as Format)) {
    throw new ValidationError("Invalid query parameters", [{ field: "format", message: `must be one of ${allowed.join(", ")}` }]);
  }
  if (format) return format as Format;
  const accepted = formatOfAccept(c.req.header("accept"));
  return allowed.includes(accepted) ? accepted : "json";
}

/** What info and coverage share: an opaque next_cursor, and the filters (normalized as the dataset id is). */
const cursorSchema = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,1000}$/, "must be a next_cursor of an earlier page"));
const filterSchemas = {
  symbol: z.optional(symbolSchema),
  interval: z.optional(intervalSchema),
  market_type: z.optional(marketTypeSchema),
};
const FILTERS = ["symbol", "interval", "market_type"] as const;


const infoQuerySchema = z.object({
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(10_000))),
  cursor: z.optional(cursorSchema),
  ...filterSchemas,
  refresh: z.optional(z.enum(["true", "false"])),
  sort: z.optional(z.enum(INFO_SORTS)),
  order: z.optional(z.enum(SORT_ORDERS)),
});

/** info's paging, filters and sort, or a VALIDATION_ERROR listing every bad one. */
export function infoQueryOf(c: Context): InfoQuery {
  const fields = ["limit", "cursor", ...FILTERS, "refresh", "sort", "order"];
  const { refresh, ...rest } = parseQuery(c, fields, infoQuerySchema);
  return { ...rest, refresh: refresh === "true" };
}

const coverageQuerySchema = z.object({
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000))),
  cursor: z.optional(cursorSchema),
  ...filterSchemas,
  source: z.optional(z.enum(COVERAGE_SOURCES)),
});

/** coverage's paging and filters, or a VALIDATION_ERROR listing every bad one. */
export function coverageQueryOf(c: Context): CoverageQuery {
  return parseQuery(c, ["limit", "cursor", ...FILTERS, "source"], coverageQuerySchema);
}
