import { klinesArchiveKey, klinesUpstreamRequestsKey } from "../counters/keys.js";
import type { MarketType } from "../market.js";

/** What became of an archive file: used, missing, failed on (rejected, unreachable), or used with holes REST filled. */
const ARCHIVE_OUTCOMES = ["hit", "miss", "failure", "incomplete"] as const;
type ArchiveOutcome = (typeof ARCHIVE_OUTCOMES)[number];

/** The caches whose hits and misses are counted, each with the name the admin page shows for it. */
export const CACHE_LABELS = {
  data_spot: "Candles, spot",
  data_futures: "Candles, futures",
  symbols_spot: "Symbol list, spot",
  symbols_futures: "Symbol list, futures",
  klines_spot: "Read-through candles, spot",
  klines_futures: "Read-through candles, futures",
  klines_futures_mark: "Read-through mark price candles, futures",
  klines_futures_index: "Read-through index price candles, futures",
  klines_futures_premium: "Read-through premium index candles, futures",
  funding_futures: "Read-through funding rates, futures",
} as const;
type CacheName = keyof typeof CACHE_LABELS;
const CACHES = Object.keys(CACHE_LABELS) as CacheName[];

export interface CacheRatio {
  hits: number;
  misses: number;
  /** Klines answers served partly from the cache, partly fetched (0 for the other caches). */
  partial: number;
  /** hits / (hits + partial + misses), or null before the first request. */
  hit_ratio: number | null;
}

export interface RefreshAge {
  last_refresh_at: string | null;
  age_seconds: number | null;
}

export interface Metrics {
  counters: Record<string, number>;
  caches: Record<CacheName, CacheRatio>;
  /** HTTP requests the klines answers sent to Binance, per market. */
  klines_upstream_requests: Record<MarketType, number>;
  /** Files of Binance's public archive the klines answers used, found missing, failed on, or found holed, per market. */
  klines_archive: Record<MarketType, Record<ArchiveOutcome, number>>;
  symbols_refresh: Record<MarketType, RefreshAge>;
}

/**
 * Pure: the counters as read, plus each market's `last_refresh_ts` (epoch seconds, as the original stores it),
 * into what the metrics endpoint answers.
 */
export function summarizeMetrics(
  counters: Record<string, number>,
  lastRefreshTs: Record<MarketType, string | null>,
  now: Date,
): Metrics {
  const caches = Object.fromEntries(
    CACHES.map((name) => {
      const hits = counters[`metrics:cache_hit:${name}`] ?? 0;
      const misses = counters[`metrics:cache_miss:${name}`] ?? 0;
      const partial = counters[`metrics:cache_partial:${name}`] ?? 0;
      const total = hits + partial + misses;
      return [name, { hits, misses, partial, hit_ratio: total === 0 ? null : Math.round((hits / total) * 10_000) / 10_000 }];
    }),
  ) as Metrics["caches"];
  const refresh = (raw: string | null): RefreshAge => {
    const seconds = raw === null ? NaN : Number(raw);
    if (!Number.isFinite(seconds)) return { last_refresh_at: null, age_seconds: null };
    return {
      last_refresh_at: new Date(seconds * 1000).toISOString(),
      age_seconds: Math.max(0, Math.round(now.getTime() / 1000 - seconds)),
    };
  };
  return {
    counters,
    caches,
    klines_upstream_requests: {
      spot: counters[klinesUpstreamRequestsKey("spot")] ?? 0,
      futures: counters[klinesUpstreamRequestsKey("futures")] ?? 0,
    },
    klines_archive: {
      spot: archiveOf(counters, "spot"),
      futures: archiveOf(counters, "futures"),
    },
    symbols_refresh: { spot: refresh(lastRefreshTs.spot), futures: refresh(lastRefreshTs.futures) },
  };
}

function archiveOf(counters: Record<string, number>, market: MarketType): Record<ArchiveOutcome, number> {
  return Object.fromEntries(ARCHIVE_OUTCOMES.map((outcome) => [outcome, counters[klinesArchiveKey(market, outcome)] ?? 0])) as Record<
    ArchiveOutcome,
    number
  >;
}

/** The same figures in the Prometheus text exposition format. */
export function toPrometheusText(metrics: Metrics): string {
  const lines: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const entries = Object.entries(metrics.caches);
  family("candle_cache_hits_total", "counter", "Cache hits.", entries.map(([cache, r]) => [`{cache="${cache}"}`, r.hits]));
  family("candle_cache_misses_total", "counter", "Cache misses.", entries.map(([cache, r]) => [`{cache="${cache}"}`, r.misses]));
  family(
    "candle_cache_partial_total",
    "counter",
    "Read-through answers (klines, funding) served partly from the cache, partly fetched.",
    entries.filter(([cache]) => cache.startsWith("klines_") || cache.startsWith("funding_")).map(([cache, r]) => [`{cache="${cache}"}`, r.partial]),
  );
  family(
    "candle_cache_upstream_requests_total",
    "counter",
    "HTTP requests the klines answers sent to Binance.",
    Object.entries(metrics.klines_upstream_requests).map(([market, n]) => [`{market="${market}"}`, n]),
  );
  family(
    "candle_cache_hit_ratio",
    "gauge",
    "Hits over hits and misses (absent before the first request).",
    entries.filter(([, r]) => r.hit_ratio !== null).map(([cache, r]) => [`{cache="${cache}"}`, r.hit_ratio as number]),
  );
  family(
    "candle_cache_archive_files_total",
    "counter",
    "Files of Binance's public archive the klines answers used (hit), found missing (miss), failed on (failure), or found holed and filled from REST (incomplete).",
    Object.entries(metrics.klines_archive).flatMap(([market, outcomes]) =>
      Object.entries(outcomes).map(([outcome, n]): [string, number] => [`{market="${market}",outcome="${outcome}"}`, n]),
    ),
  );
  family(
    "candle_cache_counter",
    "counter",
    "Every raw counter, by its Redis key.",
    Object.entries(metrics.counters).map(([key, value]) => [`{key="${key}"}`, value]),
  );
  family(
    "candle_cache_symbols_refresh_age_seconds",
    "gauge",
    "Seconds since the symbol list was last refreshed from Binance.",
    Object.entries(metrics.symbols_refresh)
      .filter(([, r]) => r.age_seconds !== null)
      .map(([market, r]) => [`{market="${market}"}`, r.age_seconds as number]),
  );
  return lines.join("\n") + "\n";
}
