import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { StorageUnavailableError } from "../errors.js";
import { mapLimit } from "../util/map-limit.js";
import { assertValidKey, assertValidPrefix } from "./keys.js";
import {
  PreconditionFailedError,
  type CallOptions,
  type ListedObject,
  type ObjectHead,
  type ObjectStore,
  type ObjectStream,
  type ObjectVersion,
  type Presigner,
} from "./types.js";

export interface S3StoreOptions {
  /** Bucket that holds the objects; it must exist. */
  bucket: string;
  /** Folder inside the bucket: objects live at `<prefix>/<key>`; "" is the bucket root. */
  prefix?: string;
  /** URL of an S3-compatible server (moto_server, LocalStack, MinIO); path-style addressing is then used. */
  endpoint?: string;
  /** AWS region of the bucket; default "us-east-1". */
  region?: string;
  /** Static credentials; default: the SDK's provider chain (Lambda role, env, profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Limit of one call until the response headers arrive, and of any silence on the socket while a body streams. */
  timeoutMs?: number;
  /** A ready client to use instead of building one; its own endpoint, region, credentials and sockets apply. */
  client?: S3Client;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;
const DELETE_CONCURRENCY = 4;

export function createS3Store(options: S3StoreOptions): ObjectStore {
  const { bucket } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const base = basePrefix(options.prefix ?? "");
  const client = options.client ?? createClient(options, timeoutMs);

  function objectKey(key: string): string {
    assertValidKey(key);
    return base + key;
  }

  /**
   * Runs one SDK call under an overall deadline (retries included). The deadline ends when `op` resolves,
   * so a stream handed out by `op` is not cut off later; the socket idle timeout guards it from then on.
   */
  async function call<T>(what: string, op: (abortSignal: AbortSignal) => Promise<T>, options?: CallOptions): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const signal = options?.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
    try {
      return await op(signal);
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw error;
      const reason = controller.signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : options?.signal?.aborted
          ? "cancelled: the request's time is up"
          : messageOf(error);
      throw new StorageUnavailableError(`S3 ${what} failed: ${reason}`, error);
    } finally {
      clearTimeout(timer);
    }
  }

  const presigner: Presigner = {
    // https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-s3-request-presigner/
    async getUrl(key, expiresSeconds) {
      const command = new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) });
      return getSignedUrl(client, command, { expiresIn: expiresSeconds });
    },
    async putUrl(key, expiresSeconds, terms) {
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: objectKey(key),
        ContentType: terms.contentType,
        ContentLength: terms.sizeBytes,
        ...(terms.createOnly ? { IfNoneMatch: "*" } : {}),
      });
      // A signed header must be sent as signed, or S3 refuses the upload: another type, another length, or a second
      // upload to a key that exists (If-None-Match: *) is never stored.
      const signed = ["content-type", "content-length", ...(terms.createOnly ? ["if-none-match"] : [])];
      return getSignedUrl(client, command, { expiresIn: expiresSeconds, signableHeaders: new Set(signed) });
    },
  };

  return {
    driver: "s3",
    presigner,

    async get(key, options) {
      const Key = objectKey(key);
      return call(
        `get ${key}`,
        async (abortSignal) => {
          const response = await orNull(client.send(new GetObjectCommand({ Bucket: bucket, Key }), { abortSignal }));
          if (!response?.Body) return null;
          return response.Body.transformToByteArray();
        },
        options,
      );
    },

    async getStream(key, options): Promise<ObjectStream | null> {
      const Key = objectKey(key);
      const response = await call(
        `getStream ${key}`,
        (abortSignal) => orNull(client.send(new GetObjectCommand({ Bucket: bucket, Key }), { abortSignal })),
        options,
      );
      if (!response?.Body) return null;
      return {
        stream: response.Body.transformToWebStream() as ReadableStream<Uint8Array>,
        sizeBytes: response.ContentLength ?? 0,
        modifiedAt: response.LastModified ?? new Date(0),
        // The ETag of the bytes this very answer carries: the version is checked on the read that serves them.
        version: response.ETag ?? "",
      };
    },

    async put(key, body, putOptions): Promise<ObjectVersion> {
      const Key = objectKey(key);
      const ifMatch = putOptions?.ifMatch;
      const condition = ifMatch === undefined ? {} : ifMatch === null ? { IfNoneMatch: "*" } : { IfMatch: ifMatch };
      const response = await call(
        `put ${key}`,
        (abortSignal) =>
          client
            .send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentType: putOptions?.contentType, ...condition }), {
              abortSignal,
            })
            .catch((error: unknown) => {
              // 412: not at that version; 409: another conditional write to the key was in flight; 404: If-Match
              // on a key that is not there.
              const status = statusOf(error);
              const failed = status === 412 || status === 409 || (status === 404 && typeof ifMatch === "string");
              if (ifMatch !== undefined && failed) throw new PreconditionFailedError(key);
              throw error;
            }),
        putOptions,
      );
      return response.ETag ?? "";
    },

    async head(key): Promise<ObjectHead | null> {
      const Key = objectKey(key);
      // A HEAD answer has no body, so a missing bucket is also a plain 404 and reads as a missing object.
      const response = await call(`head ${key}`, (abortSignal) =>
        orNull(client.send(new HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal })),
      );
      if (!response) return null;
      return { sizeBytes: response.ContentLength ?? 0, modifiedAt: response.LastModified ?? new Date(0), version: response.ETag ?? "" };
    },

    async copy(from, fromVersion, to, options) {
      const Key = objectKey(to);
      // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
      // CopySource is bucket/key, URL-encoded; x-amz-copy-source-if-match refuses (412) a source that changed.
      const CopySource = `${bucket}/${objectKey(from).split("/").map(encodeURIComponent).join("/")}`;
      const response = await call(
        `copy ${from} to ${to}`,
        (abortSignal) =>
          client.send(new CopyObjectCommand({ Bucket: bucket, Key, CopySource, CopySourceIfMatch: fromVersion }), { abortSignal }).catch((error: unknown) => {
            if (statusOf(error) === 412 || statusOf(error) === 404) return null;
            throw error;
          }),
        options,
      );
      return response ? (response.CopyObjectResult?.ETag ?? "") : null;
    },

    async deleteIfUnchanged(objects) {
      // https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html
      // One DeleteObject with If-Match each: 412 when the object changed, 404 when it is gone. (DeleteObjects takes
      // an ETag per key too, but S3-compatible servers such as moto ignore it there.)
      const deleted = await mapLimit(objects, DELETE_CONCURRENCY * 8, async ({ key, version }) => {
        const Key = objectKey(key);
        const gone = await call(`delete ${key} if unchanged`, (abortSignal) =>
          client.send(new DeleteObjectCommand({ Bucket: bucket, Key, IfMatch: version }), { abortSignal }).then(
            () => true,
            (error: unknown) => {
              if (statusOf(error) === 412 || statusOf(error) === 404) return false;
              throw error;
            },
          ),
        );
        return gone ? key : null;
      });
      return deleted.filter((key) => key !== null);
    },

    async list(prefix = ""): Promise<ListedObject[]> {
      assertValidPrefix(prefix);
      const listed: ListedObject[] = [];
      let ContinuationToken: string | undefined;
      // https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
      // Pages come in key order; keep asking while IsTruncated, passing NextContinuationToken back.
      do {
        const page = await call(`list ${prefix}`, (abortSignal) =>
          client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base + prefix, ContinuationToken }), {
            abortSignal,
          }),
        );
        for (const object of page.Contents ?? []) {
          const key = object.Key?.slice(base.length);
          // Zero-byte "folder" markers (made by the S3 console) are not objects of this store.
          if (!key || key.endsWith("/")) continue;
          listed.push({
            key,
            sizeBytes: object.Size ?? 0,
            modifiedAt: object.LastModified ?? new Date(0),
            version: object.ETag ?? "",
          });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return listed;
    },

    async deleteMany(keys) {
      const objectKeys = keys.map(objectKey);
      const batches: string[][] = [];
      for (let i = 0; i < objectKeys.length; i += DELETE_BATCH) batches.push(objectKeys.slice(i, i + DELETE_BATCH));
      await mapLimit(batches, DELETE_CONCURRENCY, async (batch) => {
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
        // Quiet mode answers only the keys that failed; a key that does not exist counts as deleted.
        const response = await call(`deleteMany (${batch.length} keys)`, (abortSignal) =>
          client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
            { abortSignal },
          ),
        );
        const failed = response.Errors ?? [];
        if (failed.length > 0) {
          const detail = failed.map((e) => `${e.Key}: ${e.Code} ${e.Message ?? ""}`.trim()).join("; ");
          throw new StorageUnavailableError(`S3 could not delete ${failed.length} object(s): ${detail}`, failed);
        }
      });
    },
  };
}

/** `prefix` as the string in front of every key: "" or "<prefix>/". A bad prefix is a setup error, thrown at once. */
function basePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  assertValidPrefix(trimmed);
  return `${trimmed}/`;
}

function createClient(options: S3StoreOptions, timeoutMs: number): S3Client {
  return new S3Client({
    region: options.region ?? "us-east-1",
    endpoint: options.endpoint,
    forcePathStyle: options.endpoint !== undefined,
    credentials: options.credentials,
    // The SDK's default (WHEN_SUPPORTED) adds CRC checksums to every upload and checks them on every download,
    // which S3-compatible servers and presigned PUTs from plain clients do not all handle.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // requestTimeout stops at the response headers; socketTimeout bounds silence while a body streams.
    requestHandler: {
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeoutMs,
    },
  });
}

/** Resolves a missing object (NoSuchKey on GET, 404 on HEAD) to null; other errors pass through. */
async function orNull<T>(pending: Promise<T>): Promise<T | null> {
  try {
    return await pending;
  } catch (error) {
    if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound")) return null;
    throw error;
  }
}

/** The HTTP status of an SDK error, when the service answered one. */
const statusOf = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
