import { createHash } from "node:crypto";
import { raw } from "hono/html";
import { ADMIN_SCRIPT } from "../admin/script.bundle.js";
import { ADMIN_STYLE } from "../admin/style.js";
import type { InfoSort } from "../../cache/index/page.js";
import type { RouteChain } from "../app.js";
import { compressAnswers } from "../middleware/compress.js";
import type { AppDeps } from "../env.js";

const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/**
 * Only the page's own inline script and style may run, and it may only call this service: a symbol that slipped
 * past escaping still could not load or send anything.
 */
export const ADMIN_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(ADMIN_SCRIPT)}`,
  `style-src ${sha256(ADMIN_STYLE)}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** lightweight-charts' licence asks for a link to TradingView on the page that shows its charts. */
export const TRADINGVIEW = "https://www.tradingview.com/";

/** One sortable column of the entries table: `sort` is the key the service sorts all entries by (info's `sort`). */
const COLUMNS = [
  { sort: "symbol", label: "Symbol" },
  { sort: "interval", label: "Interval" },
  { sort: "dates", label: "Dates" },
  { sort: "market", label: "Market" },
  { sort: "rows", label: "Rows", numeric: true },
  { sort: "cached", label: "Cached at" },
  { sort: "expires", label: "Expires" },
] as const satisfies readonly { sort: InfoSort; label: string; numeric?: true }[];

/**
 * `GET /`: the operator's page (figures, metrics, coverage, a candle chart, entries, delete and clear); its script,
 * built from ../admin/page/, calls the JSON API.
 */
export function adminPage(deps: Pick<AppDeps, "access">): RouteChain {
  const tokenRequired = deps.access.writeToken !== undefined || deps.access.readToken !== undefined;
  // The page inlines its script (about 200 KB, lightweight-charts most of it): sent with br or gzip, about 70 KB.
  return [
    compressAnswers(),
    function adminPage(c) {
      c.header("Content-Security-Policy", ADMIN_PAGE_CSP);
      c.header("Cache-Control", "no-store");
      c.header("X-Content-Type-Options", "nosniff");
      c.header("Referrer-Policy", "no-referrer");
      return Promise.resolve(c.html(<AdminPage tokenRequired={tokenRequired} />));
    },
  ];
}

/** `GET /healthz`: the service answers. */
export function health(): RouteChain {
  return [(c) => Promise.resolve(c.json({ status: "ok" }))];
}

function AdminPage({ tokenRequired }: { tokenRequired: boolean }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>Candle cache</title>
          <link rel="icon" href="data:," />
          <style>{raw(ADMIN_STYLE)}</style>
        </head>
        <body>
          <main id="admin" data-token-required={String(tokenRequired)} aria-busy="true">
            <header>
              <div>
                <h1>Candle cache</h1>
                <TokenState tokenRequired={tokenRequired} />
              </div>
              <div class="toolbar">
                <span id="updated" class="muted" aria-live="polite"></span>
                <button type="button" id="refresh">Refresh</button>
                <button type="button" id="toggle-details" aria-controls="details" aria-expanded="true">
                  Hide details
                </button>
                <button type="button" id="clear" class="danger" disabled>
                  Clear cache
                </button>
              </div>
            </header>
            <noscript>
              <p class="notice error">This page needs JavaScript; the JSON API is at /api/v1/backtest/cache/info.</p>
            </noscript>
            <p id="notice" class="notice" role="status" aria-live="polite" hidden></p>

            <dl class="cards" aria-label="Cache summary">
              <div>
                <dt>Status</dt>
                <dd id="status">…</dd>
              </div>
              <div>
                <dt>Entries</dt>
                <dd id="total-entries">…</dd>
              </div>
              <div>
                <dt>Size</dt>
                <dd>
                  <span id="total-size">…</span> MB
                </dd>
              </div>
              <div>
                <dt>Symbols</dt>
                <dd id="symbol-count">…</dd>
              </div>
            </dl>

            <section aria-labelledby="metrics-title">
              <h2 id="metrics-title">Hits and misses</h2>
              <p id="metrics-state" class="muted">
                Loading…
              </p>
              <div id="metrics-body" class="metrics" hidden>
                <div>
                  <h3 id="caches-title">Caches</h3>
                  <table id="caches-table" aria-labelledby="caches-title">
                    <thead>
                      <tr>
                        <th scope="col">Cache</th>
                        <th scope="col" class="num">Hits</th>
                        <th scope="col" class="num">Misses</th>
                        <th scope="col" class="num">Hit ratio</th>
                      </tr>
                    </thead>
                    <tbody id="caches-body"></tbody>
                  </table>
                </div>
                <div>
                  <h3 id="refresh-title">Symbol lists</h3>
                  <table id="refresh-table" aria-labelledby="refresh-title">
                    <thead>
                      <tr>
                        <th scope="col">Market</th>
                        <th scope="col">Last refresh</th>
                        <th scope="col" class="num">Age</th>
                      </tr>
                    </thead>
                    <tbody id="refresh-body"></tbody>
                  </table>
                  <details>
                    <summary>All counters</summary>
                    <table id="counters-table">
                      <caption class="sr-only">Every counter</caption>
                      <thead>
                        <tr>
                          <th scope="col">Counter</th>
                          <th scope="col" class="num">Value</th>
                        </tr>
                      </thead>
                      <tbody id="counters-body"></tbody>
                    </table>
                  </details>
                </div>
              </div>
            </section>

            <section aria-labelledby="filters-title" class="filters-bar">
              <h2 id="filters-title" class="sr-only">Filter the coverage and the entries</h2>
              <div class="filters" role="search" aria-label="Filter the coverage and the entries">
                <div class="filter">
                  <label for="filter-symbol">Symbol</label>
                  <input id="filter-symbol" type="search" list="symbol-options" placeholder="e.g. BTCUSDT" autocomplete="off" spellcheck={false} />
                  <datalist id="symbol-options"></datalist>
                </div>
                <div class="filter">
                  <label for="filter-interval">Interval</label>
                  <select id="filter-interval"></select>
                </div>
                <div class="filter">
                  <label for="filter-market">Market</label>
                  <select id="filter-market"></select>
                </div>
              </div>
            </section>

            <section aria-labelledby="coverage-title">
              <h2 id="coverage-title">Coverage</h2>
              <p class="muted">
                The months of each series the cache holds. A read-through month opens its candles; a dataset month shows
                its entries.
              </p>
              <p id="coverage-legend" class="legend" hidden>
                <span class="cov held"></span> held <span class="cov partial"></span> partial{" "}
                <span class="cov gap"></span> gap <span class="cov held has-exchange-gaps"></span> gaps on the exchange
              </p>
              <div class="coverage-wrap">
                <table id="coverage-table" class="coverage" hidden></table>
              </div>
              <p id="coverage-count" class="muted" aria-live="polite"></p>
              <nav id="coverage-pager" class="pager" aria-label="Coverage pages" hidden>
                <button type="button" id="coverage-prev">
                  Previous series
                </button>
                <button type="button" id="coverage-next">
                  Next series
                </button>
              </nav>
            </section>

            <section id="chart-panel" aria-labelledby="chart-title" hidden>
              <div class="panel-head">
                <h2 id="chart-title">Chart</h2>
                <button type="button" id="chart-close">
                  Close chart
                </button>
              </div>
              <p id="chart-note" class="muted"></p>
              <p id="chart-state" role="status"></p>
              <div id="chart" class="chart"></div>
              <div id="chart-gaps" class="chart-gaps"></div>
              <p class="muted attribution">
                Charts by{" "}
                <a href={TRADINGVIEW} rel="noopener noreferrer" target="_blank">
                  TradingView Lightweight Charts™
                </a>
              </p>
            </section>

            <section id="details" aria-labelledby="entries-title">
              <h2 id="entries-title">Entries</h2>
              <p id="entries-count" aria-live="polite"></p>
              <div class="table-wrap">
                <table id="entries-table">
                  <caption class="sr-only">Cached entries; select a column heading to sort all of them by it</caption>
                  <thead>
                    <tr>
                      {COLUMNS.map((column) => (
                        <th scope="col" data-sort={column.sort} class={"numeric" in column ? "num" : undefined}>
                          <button type="button">{column.label}</button>
                        </th>
                      ))}
                      <th scope="col" class="actions-col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody id="entries-body"></tbody>
                </table>
              </div>
              <p id="entries-empty" class="muted" hidden></p>
              <nav id="pager" class="pager" aria-label="Entry pages" hidden>
                <button type="button" id="page-prev">
                  Previous
                </button>
                <span id="page-status" aria-live="polite"></span>
                <button type="button" id="page-next">
                  Next
                </button>
              </nav>
            </section>

            <dialog id="clear-dialog" aria-labelledby="clear-title" aria-describedby="clear-text">
              <h2 id="clear-title">Clear the whole cache?</h2>
              <p id="clear-text"></p>
              <div class="actions">
                <button type="button" id="clear-cancel" autofocus>
                  Cancel
                </button>
                <button type="button" id="clear-confirm" class="danger">
                  Clear cache
                </button>
              </div>
            </dialog>

            <dialog id="token-dialog" aria-labelledby="token-title">
              <form id="token-form">
                <h2 id="token-title">API token</h2>
                <p>
                  Deleting and clearing need this service's CACHE_API_TOKEN. It is kept in this browser tab only
                  (sessionStorage).
                </p>
                <p id="token-error" class="notice error" role="alert" hidden></p>
                <label for="token-input">Token</label>
                <input id="token-input" name="token" type="password" autocomplete="off" spellcheck={false} required />
                <div class="actions">
                  <button type="button" id="token-cancel">
                    Cancel
                  </button>
                  <button type="submit" class="primary">
                    Use token
                  </button>
                </div>
              </form>
            </dialog>
          </main>
          <script>{raw(ADMIN_SCRIPT)}</script>
        </body>
      </html>
    </>
  );
}

function TokenState({ tokenRequired }: { tokenRequired: boolean }) {
  if (!tokenRequired) {
    return <p class="token-state">Writes are open: this service has no CACHE_API_TOKEN.</p>;
  }
  return (
    <p class="token-state">
      <span id="token-status">Deleting and clearing need the API token.</span>
      <button type="button" id="token-enter" class="link">
        Enter token
      </button>
      <button type="button" id="token-forget" class="link" hidden>
        Forget token
      </button>
    </p>
  );
}
