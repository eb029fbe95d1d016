import { parquetMetadata, type ColumnChunk, type FileMetaData, type RowGroup } from "hyparquet";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";

/** A body made of chunks already in memory, with its size. */
export interface Assembled {
  chunks: Uint8Array[];
  sizeBytes: number;
}

/**
 * One Parquet file made of several with the same schema (a klines range from its months' kept forms): each file's
 * row groups are copied as they are, byte for byte, and one new footer says where they now are. Nothing is decoded
 * or encoded again. Page indexes and bloom filters, which sit outside the row groups, are left out (readers find
 * them optional). Null when the files' schemas differ, or there are none: the caller converts instead.
 */
export function assembleParquet(files: readonly Uint8Array[]): Assembled | null {
  const metas = files.map((file) => parquetMetadata(arrayBufferOf(file)));
  const first = metas[0];
  if (!first || !metas.every((meta) => sameSchema(meta, first))) return null;
  const chunks: Uint8Array[] = [];
  const rowGroups: RowGroup[] = [];
  // The leading magic ("PAR1") is the footer writer's first four bytes: the row groups follow it.
  let offset = 4n;
  files.forEach((file, i) => {
    const meta = metas[i] as FileMetaData;
    const span = rowGroupSpan(meta);
    if (!span) return;
    chunks.push(file.subarray(Number(span.start), Number(span.end)));
    const shift = offset - span.start;
    for (const group of meta.row_groups) rowGroups.push(shifted(group, shift));
    offset += span.end - span.start;
  });
  const body = withFooter(first, rowGroups, chunks);
  return { chunks: body, sizeBytes: body.reduce((sum, chunk) => sum + chunk.length, 0) };
}

/** The magic, the copied row groups, then the footer (metadata, its length, the magic) that hyparquet-writer writes. */
function withFooter(first: FileMetaData, rowGroups: RowGroup[], body: Uint8Array[]): Uint8Array[] {
  const writer = new DrainingWriter();
  const parquet = new ParquetWriter({ writer, schema: first.schema, createdBy: first.created_by ?? "candle-cache" });
  const magic = writer.drain();
  // The writer's own bookkeeping, filled with the copied groups instead of ones it encoded: its offsets then count
  // the copied bytes, which it never saw.
  writer.offset += body.reduce((sum, chunk) => sum + chunk.length, 0);
  parquet.row_groups = rowGroups;
  parquet.num_rows = rowGroups.reduce((sum, group) => sum + group.num_rows, 0n);
  void parquet.finish();
  return [magic, ...body, writer.drain()];
}

/** Where a file's row groups lie: from its first column chunk's first page to its last chunk's end. */
function rowGroupSpan(meta: FileMetaData): { start: bigint; end: bigint } | null {
  let start: bigint | null = null;
  let end = 0n;
  for (const group of meta.row_groups) {
    for (const column of group.columns) {
      const data = column.meta_data;
      if (!data) continue;
      const from = data.dictionary_page_offset ?? data.data_page_offset;
      if (start === null || from < start) start = from;
      if (from + data.total_compressed_size > end) end = from + data.total_compressed_size;
    }
  }
  return start === null ? null : { start, end };
}

/** A row group whose pages moved by `shift` bytes; the page indexes and bloom filters it pointed to are not copied. */
function shifted(group: RowGroup, shift: bigint): RowGroup {
  const columns = group.columns.map((column): ColumnChunk => {
    const data = column.meta_data;
    return {
      file_path: column.file_path,
      file_offset: column.file_offset + shift,
      meta_data: data && {
        ...data,
        data_page_offset: data.data_page_offset + shift,
        dictionary_page_offset: data.dictionary_page_offset === undefined ? undefined : data.dictionary_page_offset + shift,
        index_page_offset: data.index_page_offset === undefined ? undefined : data.index_page_offset + shift,
        bloom_filter_offset: undefined,
        bloom_filter_length: undefined,
      },
    };
  });
  return { ...group, columns, file_offset: group.file_offset === undefined ? undefined : group.file_offset + shift };
}

/** Same columns, types and order: row groups of one can stand beside the other's. */
function sameSchema(a: FileMetaData, b: FileMetaData): boolean {
  return JSON.stringify(a.schema) === JSON.stringify(b.schema);
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** A ByteWriter whose bytes are handed out when asked, keeping its count of all bytes written. */
class DrainingWriter extends ByteWriter {
  drain(): Uint8Array {
    const bytes = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return bytes;
  }
}
