/** Size and last-modified time of one stored object. */
export interface ObjectMeta {
  sizeBytes: number;
  modifiedAt: Date;
}

/** One object found by `list`. */
export interface ListedObject extends ObjectMeta {
  key: string;
  /** Changes whenever the object's bytes do (S3: the ETag; fs: size and mtime in ns); lets callers reuse reads. */
  version?: string;
}

/** An object's bytes as a stream, with its size known up front. */
export interface ObjectStream extends ObjectMeta {
  stream: ReadableStream<Uint8Array>;
}

/** Short-lived URLs that let a client talk to the store directly (S3 only). */
export interface Presigner {
  /** A GET URL for `key`, valid `expiresSeconds`. */
  getUrl(key: string, expiresSeconds: number): Promise<string>;
  /** A PUT URL for `key`, valid `expiresSeconds`; the client must send `contentType`. */
  putUrl(key: string, expiresSeconds: number, contentType: string): Promise<string>;
}

/**
 * A flat key -> bytes store rooted at one base (a folder, or a bucket + prefix).
 * Keys are relative to the base, `/`-separated, and checked by `assertValidKey` in every driver.
 * A missing object is `null`, never an exception. Failures of the backend throw StorageUnavailableError.
 */
export interface ObjectStore {
  /** Driver name, for logs: "fs" | "s3". */
  readonly driver: string;
  get(key: string): Promise<Uint8Array | null>;
  getStream(key: string): Promise<ObjectStream | null>;
  /** Writes the whole object atomically: readers see the old bytes or the new, never a part. */
  put(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void>;
  head(key: string): Promise<ObjectMeta | null>;
  /** Every object whose key starts with `prefix` (all pages), in key order. */
  list(prefix?: string): Promise<ListedObject[]>;
  /** Deletes the keys that exist; missing ones are ignored. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Removes temporary objects of writes that never finished, last touched before `olderThan`; how many. */
  removeStaleTemporaries?(olderThan: Date): Promise<number>;
  /** Present when the store can hand out direct URLs (s3). */
  readonly presigner?: Presigner;
}
