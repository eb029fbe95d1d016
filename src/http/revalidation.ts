import { createHash } from "node:crypto";
import { contentIdentityOf, type CacheMeta } from "../cache/entries/meta.js";

/** A year: what a history that never changes may be kept for (RFC 9111's customary maximum). */
const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

/**
 * The entity tag of one representation of an entry: its content identity (see contentIdentityOf) and the
 * representation, since CSV and JSON are different bytes of the same entry.
 */
export function entityTagOf(meta: CacheMeta, representation: string): string {
  return `"${contentIdentityOf(meta).slice(0, 32)}-${representation}"`;
}

/**
 * The entity tag of an answer made of several entries (a klines range): a digest of what decides its bytes, the
 * range, each partition's content identity (null: nothing stored) and the representation.
 */
export function entityTagOfParts(parts: readonly (CacheMeta | null)[], decides: string, representation: string): string {
  const hash = createHash("sha256").update(decides);
  for (const meta of parts) hash.update(`\n${meta ? contentIdentityOf(meta) : "-"}`);
  return `"${hash.digest("hex").slice(0, 32)}-${representation}"`;
}

/**
 * Cache-Control of a hit: a history that is never served differently (no expiry) may be kept for a year unchanged;
 * a recent entry for what remains of its life. `shared` false (reads need a token) keeps it out of shared caches.
 */
export function cacheControlOf(expiresAt: Date | null, now: Date, shared: boolean): string {
  const scope = shared ? "public" : "private";
  if (expiresAt === null) return `${scope}, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`;
  const remaining = Math.max(0, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
  return `${scope}, max-age=${remaining}`;
}

/**
 * Cache-Control of a klines answer: a settled one (it ends before now and every gap in it is final) never changes,
 * and is kept a year; any other may grow as candles close or arrive, and is revalidated on every use.
 */
export function cacheControlOfRange(settled: boolean, shared: boolean): string {
  const scope = shared ? "public" : "private";
  return settled ? `${scope}, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable` : `${scope}, no-cache`;
}

/** The tag without its weakness mark: If-None-Match compares weakly (RFC 9110 13.1.2). */
const opaque = (tag: string) => (tag.startsWith("W/") ? tag.slice(2) : tag);

/** True when an If-None-Match header names `tag` (or is `*`): the client's copy is current, answer 304. */
export function matchesIfNoneMatch(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const wanted = opaque(tag);
  return header.split(",").some((candidate) => {
    const trimmed = candidate.trim();
    return trimmed === "*" || opaque(trimmed) === wanted;
  });
}

/** A strong tag made weak: what a compressed representation carries (its bytes differ from the tagged ones). */
export const weakened = (tag: string): string => (tag.startsWith("W/") ? tag : `W/${tag}`);
