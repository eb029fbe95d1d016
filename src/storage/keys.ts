import { InvalidKeyError } from "../errors.js";

/** Characters S3 documents as safe in keys; anything else is refused, the same way by every driver. */
const SAFE_KEY = /^[A-Za-z0-9!_.*'()\-/]+$/;
const MAX_KEY_BYTES = 1024;

/**
 * Refuses keys that could escape the store's base or mean different things in different stores:
 * empty, too long, absolute, with empty, `.`/`..` or hidden (`.`-led) segments, or odd characters.
 */
export function assertValidKey(key: string): void {
  if (key.length === 0) throw new InvalidKeyError(key, "empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  if (!SAFE_KEY.test(key)) throw new InvalidKeyError(key, "only A-Z a-z 0-9 ! _ . * ' ( ) - / are allowed");
  for (const segment of key.split("/")) {
    if (segment === "") throw new InvalidKeyError(key, "empty path segment");
    if (segment.startsWith(".")) throw new InvalidKeyError(key, "segments may not start with '.'");
  }
}

/** A list prefix may be empty or end in '/', otherwise it follows the key rule. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === "") return;
  assertValidKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
}
