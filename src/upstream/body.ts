/**
 * An answer's body, read until `maxBytes`: one larger than that is cancelled and refused with `tooLarge`'s error,
 * never held whole. A declared Content-Length over the bound is refused before reading.
 */
export async function readAtMost(response: Response, maxBytes: number, tooLarge: (declared?: number) => Error): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge(declared);
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let sizeBytes = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    sizeBytes += read.value.length;
    if (sizeBytes > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks);
}
