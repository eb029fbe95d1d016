import { datasetIdSchema, type DatasetId } from "../../market.js";
import type { ListedObject } from "../../storage/types.js";
import { datasetKey } from "./key.js";

/**
 * Where an entry lives: its dataset, in the cache directory's root (the original's entries, and every entry a client
 * stores) or in a named sub-folder of it (entries a writer of this service keeps apart, so they never collide with a
 * client's: the original service lists only the root, so it never sees them).
 */
export interface EntryId extends DatasetId {
  folder?: string;
}

/** A sub-folder name: lower-case letters, digits and dashes. */
const FOLDER = "[a-z][a-z0-9-]{0,31}";
const FOLDER_NAME = new RegExp(`^${FOLDER}$`);
/**
 * The one definition of an object of the cache: `[<folder>/]<md5>.csv`, `[<folder>/]<md5>_meta.json`, or a form
 * derived from the CSV and kept beside it, `[<folder>/]<md5>.<identity>.<form>` (identity: the first 16 hex
 * digits of the content identity it was made from; the Python service knows only the first two and ignores it).
 */
const ENTRY_OBJECT = new RegExp(`^(?:(${FOLDER})/)?([0-9a-f]{32})(\\.csv|_meta\\.json|\\.([0-9a-f]{16})\\.(parquet|arrow))$`);
const IDENTITY_DIGITS = 16;

/** `[<folder>/]<md5>`: the name both objects of the entry start with. */
export function entryName(id: EntryId): string {
  if (id.folder === undefined || id.folder === "") return datasetKey(id);
  if (!FOLDER_NAME.test(id.folder)) throw new Error(`Not a cache folder name: ${JSON.stringify(id.folder)}`);
  return `${id.folder}/${datasetKey(id)}`;
}

export const csvKeyOf = (id: EntryId): string => `${entryName(id)}.csv`;
export const metaKeyOf = (id: EntryId): string => `${entryName(id)}_meta.json`;
/** The forms derived from an entry's CSV and kept beside it: a Parquet file, an Arrow IPC stream. */
export const DERIVED_FORMS = ["parquet", "arrow"] as const;
export type DerivedForm = (typeof DERIVED_FORMS)[number];

/** The derived `form` of the entry whose content identity (see contentIdentityOf) is `identity`. */
export const derivedKeyOf = (id: EntryId, identity: string, form: DerivedForm): string =>
  `${entryName(id)}.${identity.slice(0, IDENTITY_DIGITS)}.${form}`;

/**
 * Where a client's upload waits for its commit: `_uploads/<md5>.<uploadId>.csv`, apart from the entries (never served,
 * listed or swept as one; the Python service never looks there). The upload id starts with its expiry (epoch seconds).
 */
export const UPLOADS_PREFIX = "_uploads/";
/** An upload's id: `<expiry in epoch seconds>-<16 hex digits>`. */
export const UPLOAD_ID = /^\d{10}-[0-9a-f]{16}$/;
const UPLOAD_OBJECT = /^_uploads\/[0-9a-f]{32}\.(\d{10})-[0-9a-f]{16}\.csv$/;
export const uploadKeyOf = (id: DatasetId, uploadId: string): string => `${UPLOADS_PREFIX}${datasetKey(id)}.${uploadId}.csv`;

/** When the upload URL of a staging object expired (epoch ms); null for a key that is not one. */
export function uploadExpiryOf(key: string): number | null {
  const match = UPLOAD_OBJECT.exec(key);
  return match ? Number(match[1]) * 1000 : null;
}

/** An object of the cache, by its key: which entry it belongs to and which of its objects it is. */
export interface EntryObjectName {
  /** `[<folder>/]<md5>`, shared by the entry's CSV and meta. */
  entry: string;
  /** "" for the root. */
  folder: string;
  part: "csv" | "meta" | "derived";
  /** For a derived form: the identity it was made from (16 hex digits). */
  identity?: string;
  form?: DerivedForm;
}

/** The entry object a key names; null for anything else in the store, which the cache never touches. */
export function parseEntryObject(key: string): EntryObjectName | null {
  const match = ENTRY_OBJECT.exec(key);
  if (!match) return null;
  const [, folder = "", md5 = "", suffix, identity, form] = match;
  const entry = folder ? `${folder}/${md5}` : md5;
  if (identity !== undefined) return { entry, folder, part: "derived", identity, form: form as DerivedForm };
  return { entry, folder, part: suffix === ".csv" ? "csv" : "meta" };
}

/** An entry's objects as listed, before its meta is read. */
export interface ListedEntry {
  csv?: ListedObject;
  meta?: ListedObject;
  derived?: (ListedObject & { identity: string })[];
}

/** Groups the cache's own objects (see objects.ts) by entry, in every folder; every other object is left out. */
export function groupEntries(objects: readonly ListedObject[]): Map<string, ListedEntry> {
  const entries = new Map<string, ListedEntry>();
  for (const object of objects) {
    const name = parseEntryObject(object.key);
    if (!name) continue;
    const entry = entries.get(name.entry) ?? {};
    if (name.part === "csv") entry.csv = object;
    else if (name.part === "meta") entry.meta = object;
    else (entry.derived ??= []).push({ ...object, identity: name.identity as string });
    entries.set(name.entry, entry);
  }
  return entries;
}

/**
 * The entry a meta in `folder` describes, by the dataset fields it records (normalized as a request's would be);
 * null when they are not a dataset's, or name another entry than `entry` (the name its key gives).
 */
export function entryIdOfMeta(meta: DatasetFields, folder: string, entry: string): EntryId | null {
  const parsed = datasetIdSchema.safeParse(meta);
  if (!parsed.success) return null;
  const id: EntryId = { ...parsed.data, ...(folder ? { folder } : {}) };
  return entryName(id) === entry ? id : null;
}

/** A meta's dataset fields, as it records them. */
type DatasetFields = Record<keyof DatasetId, unknown>;
