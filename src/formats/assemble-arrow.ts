import type { Assembled } from "./assemble-parquet.js";

/** The end-of-stream marker of the Arrow IPC stream format: a continuation token and a zero length. */
const END_OF_STREAM = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);
const CONTINUATION = 0xffffffff;

/**
 * One Arrow IPC stream made of several with the same schema (a klines range from its months' kept forms): the
 * schema message once, then every stream's record batch messages as they are, byte for byte, then the end marker.
 * Nothing is decoded. Streams whose schema messages differ byte for byte, or that are not streams as this service
 * writes them (schema, batches, end marker; no dictionaries: no column type here has one), give null: the caller
 * converts instead.
 */
export function assembleArrow(streams: readonly Uint8Array[]): Assembled | null {
  const first = streams[0];
  if (!first) return null;
  const headLength = schemaMessageLength(first);
  if (headLength === null) return null;
  const head = first.subarray(0, headLength);
  const chunks: Uint8Array[] = [head];
  for (const stream of streams) {
    if (schemaMessageLength(stream) !== headLength || !startsWith(stream, head) || !endsWithEndOfStream(stream)) return null;
    const batches = stream.subarray(headLength, stream.length - END_OF_STREAM.length);
    if (batches.length > 0) chunks.push(batches);
  }
  chunks.push(END_OF_STREAM);
  return { chunks, sizeBytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0) };
}

/** The length of a stream's first message, its schema (no body): the continuation token, its length, its metadata. */
function schemaMessageLength(stream: Uint8Array): number | null {
  if (stream.length < 8) return null;
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  if (view.getUint32(0, true) !== CONTINUATION) return null;
  const length = 8 + view.getInt32(4, true);
  return length > 8 && length <= stream.length - END_OF_STREAM.length ? length : null;
}

const startsWith = (bytes: Uint8Array, head: Uint8Array) => head.every((byte, i) => bytes[i] === byte);
const endsWithEndOfStream = (bytes: Uint8Array) => END_OF_STREAM.every((byte, i) => bytes[bytes.length - END_OF_STREAM.length + i] === byte);
