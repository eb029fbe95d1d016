/** Size and last-modified time of one stored object. */
export interface ObjectMeta {
  sizeBytes: number;
  modifiedAt: Date;
}

/**
 * The store's identity of an object's bytes: it changes whenever they do (S3: the ETag; fs: inode, size and mtime
 * of the file renamed into place). The same object has the same version in `put`, `list` and `getStream`.
 */
export type ObjectVersion = string;

/** One object found by `list`. */
export interface ListedObject extends ObjectMeta {
  key: string;
  version: ObjectVersion;
}

/** An object's bytes as a stream, with its size and version known up front (those of the bytes streamed). */
export interface ObjectStream extends ObjectMeta {
  stream: ReadableStream<Uint8Array>;
  version: ObjectVersion;
}

/** Per-call options: the caller's deadline, which ends the call early (StorageUnavailableError). */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface PutOptions extends CallOptions {
  contentType?: string;
  /** The version the object must have for the write to happen; null: it must not exist. */
  ifMatch?: ObjectVersion | null;
}

/** A conditional put found the object at another version than asked (or present when it should not be). */
export class PreconditionFailedError extends Error {
  override name = "PreconditionFailedError";
  constructor(key: string) {
    super(`${key} is not at the version the write was conditional on`);
  }
}

/** What a presigned PUT binds the client to: the store refuses an upload that differs from it. */
export interface UploadTerms {
  contentType: string;
  /** The exact length of the body. */
  sizeBytes: number;
  /** Only when the key is free (If-None-Match: *): the URL creates its object once and can never replace it. */
  createOnly: boolean;
}

/** Short-lived URLs that let a client talk to the store directly (S3 only). */
export interface Presigner {
  /** A GET URL for `key`, valid `expiresSeconds`. */
  getUrl(key: string, expiresSeconds: number): Promise<string>;
  /**
   * A PUT URL for `key`, valid `expiresSeconds`, with `terms` signed into it: the headers (Content-Type,
   * Content-Length, If-None-Match) the client must send as they are, or the store refuses the upload.
   */
  putUrl(key: string, expiresSeconds: number, terms: UploadTerms): Promise<string>;
}

/** An object found by `head`: its size, time and version. */
export interface ObjectHead extends ObjectMeta {
  version: ObjectVersion;
}

/** One object to delete only if it is still at `version` (see deleteIfUnchanged). */
export interface VersionedKey {
  key: string;
  version: ObjectVersion;
}

/**
 * A flat key -> bytes store rooted at one base (a folder, or a bucket + prefix).
 * Keys are relative to the base, `/`-separated, and checked by `assertValidKey` in every driver.
 * A missing object is `null`, never an exception. Failures of the backend throw StorageUnavailableError.
 */
export interface ObjectStore {
  /** Driver name, for logs: "fs" | "s3". */
  readonly driver: string;
  get(key: string, options?: CallOptions): Promise<Uint8Array | null>;
  getStream(key: string, options?: CallOptions): Promise<ObjectStream | null>;
  /**
   * Writes the whole object atomically: readers see the old bytes or the new, never a part. Its new version. With
   * `ifMatch`, only when the object is still at that version (null: only when there is none), else
   * PreconditionFailedError and nothing written: a read-modify-write that loses no one else's write.
   */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<ObjectVersion>;
  head(key: string): Promise<ObjectHead | null>;
  /** Every object whose key starts with `prefix` (all pages), in key order. */
  list(prefix?: string): Promise<ListedObject[]>;
  /** Deletes the keys that exist; missing ones are ignored. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /**
   * Deletes each object only while it is still at the version given (a delete of what was judged, never of what was
   * written since); returns the keys deleted. One changed or gone since is left as it is.
   */
  deleteIfUnchanged(objects: readonly VersionedKey[]): Promise<string[]>;
  /**
   * Copies the object `from` (which must still be at `fromVersion`) to `to`, inside the store: no byte passes through
   * the caller. The new object's version; null when `from` is gone or changed.
   */
  copy(from: string, fromVersion: ObjectVersion, to: string, options?: CallOptions): Promise<ObjectVersion | null>;
  /** Removes temporary objects of writes that never finished, last touched before `olderThan`; how many. */
  removeStaleTemporaries?(olderThan: Date): Promise<number>;
  /** Present when the store can hand out direct URLs (s3). */
  readonly presigner?: Presigner;
}
