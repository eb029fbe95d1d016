/**
 * The admin page's script, inlined as plain browser JavaScript (no front-end build; the Content-Security-Policy
 * allows exactly this text by its hash). It reads the markup rendered by routes/admin-page.tsx by element id.
 *
 * Every value that comes from the cache (symbols and all other meta fields are stored data, not trusted) reaches
 * the page through textContent or an attribute set with setAttribute, never as HTML. Filtering and sorting
 * run over all entries before paging, and only one page of rows (PAGE_SIZE) is ever in the DOM.
 */
export const ADMIN_SCRIPT = String.raw`
(() => {
  "use strict";
  const INFO_URL = "api/v1/backtest/cache/info";
  const DATA_URL = "api/v1/backtest/cache/data";
  const CLEAR_URL = "api/v1/backtest/cache/clear";
  const METRICS_URL = "api/v1/metrics";
  const TOKEN_KEY = "candle-cache:api-token";
  const PAGE_SIZE = 50;
  const INTERVAL_SECONDS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000 };
  const MARKETS = ["spot", "futures"];
  const CACHE_LABELS = {
    data_spot: "Candles, spot", data_futures: "Candles, futures",
    symbols_spot: "Symbol list, spot", symbols_futures: "Symbol list, futures",
    klines_spot: "Read-through candles, spot", klines_futures: "Read-through candles, futures",
  };
  const CACHED_AT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

  const byId = (id) => document.getElementById(id);
  const root = byId("admin");
  const tokenRequired = root.getAttribute("data-token-required") === "true";
  const state = { info: null, symbol: "", market: "", sortKey: "symbol", sortDir: 1, page: 1, pending: null, detailsShown: true };
  let memoryToken = null;

  // --- small helpers -------------------------------------------------------------------------------------------
  function cell(text, label, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (label) td.setAttribute("data-label", label);
    if (className) td.className = className;
    return td;
  }

  function utcText(ms) {
    return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC" : null;
  }

  /** cached_at as the service reads it: zone-less means UTC. NaN when unreadable. */
  function cachedAtMs(text) {
    const match = CACHED_AT.exec(String(text));
    if (!match) return NaN;
    const millis = (match[3] || "0").padEnd(3, "0").slice(0, 3);
    return Date.parse(match[1] + "T" + match[2] + "." + millis + (match[4] || "Z"));
  }

  function expiresMs(entry) {
    return entry.expires_at === null ? Infinity : Date.parse(entry.expires_at);
  }

  function intervalSeconds(interval) {
    const match = /^(\d+)([smhdwM])$/.exec(String(interval));
    return match ? Number(match[1]) * INTERVAL_SECONDS[match[2]] : Infinity;
  }

  function ageText(seconds) {
    if (seconds < 60) return seconds + " s";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d " + Math.floor((seconds % 86400) / 3600) + " h";
  }

  /** The names in the order of known, then any others alphabetically. */
  function knownFirst(names, known) {
    const rank = (name) => (known.includes(name) ? known.indexOf(name) : known.length);
    return names.slice().sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  function describe(entry) {
    return entry.symbol + " " + entry.interval + " " + entry.start_date + " to " + entry.end_date + " (" + entry.market_type + ")";
  }

  /** fetch that never throws: { status, ok, body } with status 0 when the service could not be reached. */
  async function request(url, init) {
    try {
      // Reads carry the token too: a service with CACHE_READ_TOKEN answers 401 without it.
      const token = storedToken();
      const auth = token === null ? {} : { Authorization: "Bearer " + token };
      const headers = Object.assign(auth, init && init.headers);
      const response = await fetch(url, Object.assign({ cache: "no-store" }, init, { headers }));
      let body = null;
      try { body = await response.json(); } catch { body = null; }
      return { status: response.status, ok: response.ok, body };
    } catch (error) {
      // A network failure, or a request the browser refused to send (a token no header can carry).
      const message = error instanceof TypeError && error.message !== "Failed to fetch" ? error.message : "the service could not be reached";
      return { status: 0, ok: false, body: { error: { message } } };
    }
  }

  function problem(result) {
    const message = result.body && result.body.error && result.body.error.message;
    return (result.status ? "HTTP " + result.status : "network error") + (message ? ": " + message : "");
  }

  function notify(text, kind) {
    const notice = byId("notice");
    notice.textContent = text;
    notice.className = "notice " + kind;
    notice.hidden = false;
  }

  // --- the token (sessionStorage: this tab only) -----------------------------------------------------------------
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch { return memoryToken; }
  }

  function storeToken(token) {
    try {
      if (token === null) sessionStorage.removeItem(TOKEN_KEY); else sessionStorage.setItem(TOKEN_KEY, token);
    } catch { memoryToken = token; }
    renderTokenState();
  }

  function renderTokenState() {
    const status = byId("token-status");
    if (!status) return;
    const has = storedToken() !== null;
    status.textContent = has ? "Token entered for this tab." : "No token entered yet.";
    byId("token-enter").textContent = has ? "Change token" : "Enter token";
    byId("token-forget").hidden = !has;
  }

  function askToken(action, error) {
    state.pending = action;
    const message = byId("token-error");
    message.textContent = error || "";
    message.hidden = !error;
    const input = byId("token-input");
    input.value = "";
    const dialog = byId("token-dialog");
    if (!dialog.open) dialog.showModal();
    input.focus();
  }

  // --- writes: DELETE one entry, POST clear ------------------------------------------------------------------------
  async function write(action) {
    const token = storedToken();
    if (tokenRequired && token === null) return askToken(action, "");
    const headers = token === null ? {} : { Authorization: "Bearer " + token };
    setBusy(true);
    const result = await request(action.url, { method: action.method, headers });
    setBusy(false);
    if (result.status === 401) {
      storeToken(null);
      const text = "The service refused the token (401 Unauthorized): " + problem(result).replace(/^HTTP 401: /, "") +
        ". Enter the right token to " + action.what + ".";
      notify(text, "error");
      return askToken(action, text);
    }
    if (!result.ok) return notify("Could not " + action.what + " (" + problem(result) + ").", "error");
    notify(action.done(result.body), "ok");
    await refresh();
  }

  function deleteEntry(entry) {
    const query = new URLSearchParams({
      symbol: entry.symbol, interval: entry.interval, start_date: entry.start_date,
      end_date: entry.end_date, market_type: entry.market_type,
    });
    return write({
      method: "DELETE", url: DATA_URL + "?" + query, what: "delete " + describe(entry),
      done: () => "Deleted " + describe(entry) + ".",
    });
  }

  function clearCache() {
    return write({
      method: "POST", url: CLEAR_URL, what: "clear the cache",
      done: (body) => "Cache cleared: " + (body && body.data ? body.data.deleted_files : 0) + " files deleted.",
    });
  }

  // --- reading: info and metrics -----------------------------------------------------------------------------------
  function setBusy(busy) {
    root.setAttribute("aria-busy", busy ? "true" : "false");
    byId("refresh").disabled = busy;
  }

  async function refresh() {
    setBusy(true);
    await Promise.all([loadInfo(), loadMetrics()]);
    setBusy(false);
    byId("updated").textContent = "Updated " + utcText(Date.now());
  }

  async function loadInfo() {
    const result = await request(INFO_URL);
    if (result.status === 401) {
      storeToken(null);
      const text = "Reading this cache needs its token (" + problem(result) + ").";
      notify(text, "error");
      return askToken({ reload: true, what: "read the cache" }, text);
    }
    if (!result.ok || !result.body || !result.body.data) {
      notify("Could not load the cache info (" + problem(result) + ").", "error");
      return;
    }
    state.info = result.body.data;
    renderSummary();
    renderEntries();
  }

  function renderSummary() {
    const info = state.info;
    const status = byId("status");
    const active = info.total_files > 0;
    status.textContent = active ? "Active" : "Empty";
    status.className = active ? "badge-active" : "badge-empty";
    byId("total-entries").textContent = String(info.total_files);
    byId("total-size").textContent = String(info.total_size_mb);
    byId("symbol-count").textContent = String(info.cached_symbols.length);
    byId("clear").disabled = !active;

    const options = byId("symbol-options");
    options.replaceChildren(...info.cached_symbols.map((symbol) => {
      const option = document.createElement("option");
      option.value = String(symbol);
      return option;
    }));
    const markets = new Set(MARKETS);
    for (const entry of info.cache_entries) markets.add(String(entry.market_type));
    const select = byId("filter-market");
    const all = document.createElement("option");
    all.value = "";
    all.textContent = "All markets";
    select.replaceChildren(all, ...knownFirst([...markets], MARKETS).map((market) => {
      const option = document.createElement("option");
      option.value = market;
      option.textContent = market;
      return option;
    }));
    select.value = state.market;
  }

  async function loadMetrics() {
    const result = await request(METRICS_URL);
    const data = result.ok && result.body ? result.body.data : null;
    const ok = Boolean(data && data.caches && data.symbols_refresh);
    byId("metrics-state").textContent = ok ? "" : "Metrics unavailable (" + problem(result) + ").";
    byId("metrics-state").hidden = ok;
    byId("metrics-body").hidden = !ok;
    if (ok) renderMetrics(data);
  }

  function renderMetrics(data) {
    byId("caches-body").replaceChildren(...knownFirst(Object.keys(data.caches), Object.keys(CACHE_LABELS)).map((name) => {
      const figures = data.caches[name];
      const tr = document.createElement("tr");
      tr.setAttribute("data-cache", name);
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = CACHE_LABELS[name] || name;
      const ratio = figures.hit_ratio === null ? "n/a" : (figures.hit_ratio * 100).toFixed(1) + "%";
      tr.append(th, cell(String(figures.hits), "", "num"), cell(String(figures.misses), "", "num"), cell(ratio, "", "num"));
      return tr;
    }));
    byId("refresh-body").replaceChildren(...knownFirst(Object.keys(data.symbols_refresh), MARKETS).map((market) => {
      const refreshed = data.symbols_refresh[market];
      const tr = document.createElement("tr");
      tr.setAttribute("data-market", market);
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = market;
      const at = refreshed.last_refresh_at === null ? "never" : utcText(Date.parse(refreshed.last_refresh_at)) || String(refreshed.last_refresh_at);
      const age = refreshed.age_seconds === null ? "n/a" : ageText(refreshed.age_seconds) + " ago";
      tr.append(th, cell(at), cell(age, "", "num nowrap"));
      return tr;
    }));
    byId("counters-body").replaceChildren(...Object.keys(data.counters).sort().map((key) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = key;
      tr.append(th, cell(String(data.counters[key]), "", "num"));
      return tr;
    }));
  }

  // --- the entries table: filter, sort, then one page ----------------------------------------------------------------
  const SORT_KEYS = {
    symbol: (entry) => String(entry.symbol),
    interval: (entry) => intervalSeconds(entry.interval),
    dates: (entry) => String(entry.start_date) + " " + String(entry.end_date),
    market: (entry) => String(entry.market_type),
    rows: (entry) => entry.rows,
    cached: (entry) => cachedAtMs(entry.cached_at),
    expires: expiresMs,
  };
  const TIE_BREAK = ["symbol", "interval", "dates", "market"];

  function compareValues(a, b) {
    const aBad = typeof a === "number" && Number.isNaN(a);
    const bBad = typeof b === "number" && Number.isNaN(b);
    if (aBad || bBad) return aBad === bBad ? 0 : aBad ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function visibleEntries() {
    const wanted = state.symbol.trim().toUpperCase();
    const key = SORT_KEYS[state.sortKey];
    const filtered = state.info.cache_entries.filter((entry) =>
      (!wanted || String(entry.symbol).toUpperCase().includes(wanted)) &&
      (!state.market || String(entry.market_type) === state.market));
    const keyed = filtered.map((entry) => ({ entry, value: key(entry) }));
    keyed.sort((a, b) => {
      const first = compareValues(a.value, b.value) * state.sortDir;
      if (first) return first;
      for (const name of TIE_BREAK) {
        const next = compareValues(SORT_KEYS[name](a.entry), SORT_KEYS[name](b.entry));
        if (next) return next;
      }
      return 0;
    });
    return keyed.map((item) => item.entry);
  }

  function entryRow(entry) {
    const tr = document.createElement("tr");
    const expires = expiresMs(entry);
    const never = entry.retention === "until_replaced" ? "until replaced (read-through)" : "permanent";
    let expiresText = expires === Infinity ? never : utcText(expires) || String(entry.expires_at);
    // The service judges validity by its own clock; the browser's may be wrong.
    if (entry.state === "expired") expiresText += " (expired)";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "row-delete";
    button.textContent = "Delete";
    button.setAttribute("aria-label", "Delete " + describe(entry));
    button.addEventListener("click", () => deleteEntry(entry));
    const actions = cell("", "", "row-actions");
    actions.append(button);
    tr.append(
      cell(String(entry.symbol), "Symbol", "symbol"),
      cell(String(entry.interval), "Interval"),
      cell(String(entry.start_date) + " \u2192 " + String(entry.end_date), "Dates", "nowrap"),
      cell(String(entry.market_type), "Market"),
      cell(String(entry.rows), "Rows", "num"),
      cell(utcText(cachedAtMs(entry.cached_at)) || String(entry.cached_at), "Cached at", "nowrap"),
      cell(expiresText, "Expires", "nowrap"),
      actions,
    );
    return tr;
  }

  function renderEntries() {
    if (!state.info) return;
    const all = state.info.cache_entries.length;
    const rows = visibleEntries();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(Math.max(1, state.page), pages);
    const start = (state.page - 1) * PAGE_SIZE;
    const shown = rows.slice(start, start + PAGE_SIZE);
    const fragment = document.createDocumentFragment();
    for (const entry of shown) fragment.append(entryRow(entry));
    byId("entries-body").replaceChildren(fragment);

    const empty = byId("entries-empty");
    empty.hidden = shown.length > 0;
    empty.textContent = all === 0 ? "The cache is empty." : "No entry matches these filters.";
    byId("entries-table").hidden = shown.length === 0;
    const filtered = rows.length === all ? "" : " (filtered from " + all + ")";
    byId("entries-count").hidden = shown.length === 0;
    byId("entries-count").textContent = shown.length === 0 ? "" :
      "Showing " + (start + 1) + "\u2013" + (start + shown.length) + " of " + rows.length +
      (rows.length === 1 ? " entry" : " entries") + filtered + ".";
    byId("page-status").textContent = "Page " + state.page + " of " + pages;
    byId("page-prev").disabled = state.page <= 1;
    byId("page-next").disabled = state.page >= pages;
    byId("pager").hidden = pages <= 1;
    for (const th of document.querySelectorAll("#entries-table th[data-sort]")) {
      const key = th.getAttribute("data-sort");
      if (key === state.sortKey) th.setAttribute("aria-sort", state.sortDir === 1 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  // --- wiring ---------------------------------------------------------------------------------------------------------
  byId("refresh").addEventListener("click", () => refresh());
  byId("toggle-details").addEventListener("click", (event) => {
    state.detailsShown = !state.detailsShown;
    byId("details").hidden = !state.detailsShown;
    event.currentTarget.setAttribute("aria-expanded", String(state.detailsShown));
    event.currentTarget.textContent = state.detailsShown ? "Hide details" : "Show details";
  });
  byId("filter-symbol").addEventListener("input", (event) => {
    state.symbol = event.currentTarget.value;
    state.page = 1;
    renderEntries();
  });
  byId("filter-market").addEventListener("change", (event) => {
    state.market = event.currentTarget.value;
    state.page = 1;
    renderEntries();
  });
  for (const th of document.querySelectorAll("#entries-table th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.getAttribute("data-sort");
      state.sortDir = state.sortKey === key ? -state.sortDir : 1;
      state.sortKey = key;
      state.page = 1;
      renderEntries();
    });
  }
  byId("page-prev").addEventListener("click", () => { state.page -= 1; renderEntries(); });
  byId("page-next").addEventListener("click", () => { state.page += 1; renderEntries(); });

  const clearDialog = byId("clear-dialog");
  byId("clear").addEventListener("click", () => {
    const info = state.info;
    byId("clear-text").textContent = info
      ? "This deletes all " + info.total_files + " entries (" + info.total_size_mb + " MB) from the cache storage. " +
        "Backtests will fetch them from Binance again."
      : "This deletes every entry from the cache storage.";
    clearDialog.showModal();
  });
  byId("clear-cancel").addEventListener("click", () => clearDialog.close());
  byId("clear-confirm").addEventListener("click", () => {
    clearDialog.close();
    clearCache();
  });

  const tokenDialog = byId("token-dialog");
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = byId("token-input").value.trim();
    if (!token) return;
    storeToken(token);
    tokenDialog.close();
    const pending = state.pending;
    state.pending = null;
    if (pending && pending.reload) refresh();
    else if (pending) write(pending);
    else notify("Token kept for this tab; the service checks it on the next delete or clear.", "ok");
  });
  function cancelToken() {
    if (state.pending) notify("Cancelled: to " + state.pending.what + ", the service needs its API token.", "error");
    state.pending = null;
    tokenDialog.close();
  }
  byId("token-cancel").addEventListener("click", cancelToken);
  tokenDialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    cancelToken();
  });
  if (tokenRequired) {
    byId("token-enter").addEventListener("click", () => askToken(null, ""));
    byId("token-forget").addEventListener("click", () => {
      storeToken(null);
      notify("Token forgotten for this tab.", "ok");
    });
    renderTokenState();
  }

  refresh();
})();
`;
