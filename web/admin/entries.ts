/**
 * The entries table: one page of info at a time, filtered, sorted and paged by the service (so 100,000 entries cost
 * the page 50 rows), and the summary figures that come with every page.
 */
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import type { InfoPage, InfoSort, SortOrder } from "../../src/cache/index/page.js";
import { request, urlOf, type Result } from "./api.js";
import { button, byId, cell, element } from "./dom.js";
import { cachedAtText, counted, describe, expiresText } from "./format.js";
import type { Filters } from "./filters.js";

export const PAGE_SIZE = 50;

export interface EntryActions {
  chart(entry: CacheEntryInfo): void;
  remove(entry: CacheEntryInfo): void;
}

export function createEntries(filters: () => Filters, actions: EntryActions) {
  const state = {
    sort: "symbol" as InfoSort,
    order: "asc" as SortOrder,
    /** The cursor of each page seen so far: Previous goes back to the one before. */
    cursors: [undefined] as (string | undefined)[],
    page: 0,
    next: null as string | null,
  };

  /** Each read supersedes the one before: filters change faster than 100,000 entries are paged. */
  let asked = 0;

  /** Reads the current page; the caller renders it (and the summary). Null when a later read superseded it. */
  async function load(): Promise<Result<InfoPage> | null> {
    const ticket = ++asked;
    const result = await request<InfoPage>(
      urlOf("info", { limit: String(PAGE_SIZE), cursor: state.cursors[state.page], sort: state.sort, order: state.order, ...filters() }),
    );
    return ticket === asked ? result : null;
  }

  function render(info: InfoPage): void {
    state.next = info.next_cursor ?? null;
    const shown = info.cache_entries;
    const matching = info.matching_entries ?? info.total_files;
    const fragment = document.createDocumentFragment();
    for (const entry of shown) fragment.append(rowOf(entry));
    byId("entries-body").replaceChildren(fragment);

    const filtered = Object.values(filters()).some((value) => value !== "");
    const empty = byId("entries-empty");
    empty.hidden = shown.length > 0;
    empty.textContent = info.total_files === 0 ? "The cache is empty." : "No entry matches these filters.";
    byId("entries-table").hidden = shown.length === 0;
    const first = state.page * PAGE_SIZE + 1;
    byId("entries-count").hidden = shown.length === 0;
    byId("entries-count").textContent =
      shown.length === 0
        ? ""
        : `Showing ${first.toLocaleString("en-US")}–${(first + shown.length - 1).toLocaleString("en-US")} of ` +
          `${counted(matching, "entry", "entries")}${filtered ? ` (filtered from ${info.total_files.toLocaleString("en-US")})` : ""}.`;
    const pages = Math.max(1, Math.ceil(matching / PAGE_SIZE));
    byId("page-status").textContent = `Page ${(state.page + 1).toLocaleString("en-US")} of ${pages.toLocaleString("en-US")}`;
    byId<HTMLButtonElement>("page-prev").disabled = state.page === 0;
    byId<HTMLButtonElement>("page-next").disabled = state.next === null;
    byId("pager").hidden = state.page === 0 && state.next === null;
    for (const th of document.querySelectorAll<HTMLElement>("#entries-table th[data-sort]")) {
      if (th.dataset.sort === state.sort) th.setAttribute("aria-sort", state.order === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  function rowOf(entry: CacheEntryInfo): HTMLTableRowElement {
    const buttons = cell("", "", "row-actions");
    buttons.append(
      button("Chart", () => actions.chart(entry), { className: "row-chart", attrs: { "aria-label": `Chart ${describe(entry)}` } }),
      button("Delete", () => actions.remove(entry), { className: "row-delete", attrs: { "aria-label": `Delete ${describe(entry)}` } }),
    );
    const row = element("tr");
    row.append(
      cell(String(entry.symbol), "Symbol", "symbol"),
      cell(String(entry.interval), "Interval"),
      cell(`${entry.start_date} \u2192 ${entry.end_date}`, "Dates", "nowrap"),
      cell(String(entry.market_type), "Market"),
      cell(entry.rows.toLocaleString("en-US"), "Rows", "num"),
      cell(cachedAtText(String(entry.cached_at)), "Cached at", "nowrap"),
      cell(expiresText(entry), "Expires", "nowrap"),
      buttons,
    );
    return row;
  }

  return {
    load,
    render,
    /** Back to the first page (the filters changed, or the cache did). */
    reset(): void {
      state.cursors = [undefined];
      state.page = 0;
    },
    /** Wires the pager and the sortable headings; `reload` reads and renders the current page. */
    wire(reload: () => void): void {
      byId("page-prev").addEventListener("click", () => {
        state.page = Math.max(0, state.page - 1);
        reload();
      });
      byId("page-next").addEventListener("click", () => {
        if (state.next === null) return;
        state.cursors[state.page + 1] = state.next;
        state.page++;
        reload();
      });
      for (const th of document.querySelectorAll<HTMLElement>("#entries-table th[data-sort]")) {
        th.querySelector("button")?.addEventListener("click", () => {
          const sort = th.dataset.sort as InfoSort;
          state.order = state.sort === sort && state.order === "asc" ? "desc" : "asc";
          state.sort = sort;
          state.cursors = [undefined];
          state.page = 0;
          reload();
        });
      }
    },
  };
}

export type Entries = ReturnType<typeof createEntries>;
