/** The page's two writes, DELETE one entry and POST clear: each asks for the token first where the service needs one. */
import type { CacheEntryInfo } from "../../src/cache/data-cache.js";
import { problem, request, storedToken, urlOf } from "./api.js";
import { byId } from "./dom.js";
import { describe } from "./format.js";
import { notify } from "./notice.js";
import { askToken, setToken } from "./token.js";

interface Write<T> {
  method: "DELETE" | "POST";
  url: string;
  what: string;
  done: (data: T) => string;
}

export interface Writes {
  deleteEntry(entry: CacheEntryInfo): Promise<void>;
  clearCache(): Promise<void>;
}

/** `refresh` reloads the page's figures after a write went through. */
export function createWrites(tokenRequired: boolean, refresh: () => Promise<void>, setBusy: (busy: boolean) => void): Writes {
  async function write<T>(action: Write<T>): Promise<void> {
    const token = storedToken();
    if (tokenRequired && token === null) return askToken({ what: action.what, run: () => void write(action) }, "");
    setBusy(true);
    const result = await request<T>(action.url, { method: action.method });
    setBusy(false);
    if (result.status === 401 && !result.ok) {
      setToken(null);
      const text = `The service refused the token (401 Unauthorized): ${result.message ?? "no reason given"}. Enter the right token to ${action.what}.`;
      notify(text, "error");
      return askToken({ what: action.what, run: () => void write(action) }, text);
    }
    if (!result.ok) return notify(`Could not ${action.what} (${problem(result)}).`, "error");
    notify(action.done(result.data), "ok");
    await refresh();
  }

  return {
    deleteEntry(entry) {
      const { symbol, interval, start_date, end_date, market_type } = entry;
      return write({
        method: "DELETE",
        url: urlOf("deleteData", { symbol, interval, start_date, end_date, market_type }),
        what: `delete ${describe(entry)}`,
        done: () => `Deleted ${describe(entry)}.`,
      });
    },
    clearCache() {
      return write<{ deleted_files: number }>({
        method: "POST",
        url: urlOf("clear"),
        what: "clear the cache",
        done: (data) => `Cache cleared: ${data.deleted_files} files deleted.`,
      });
    },
  };
}

/** The clear button's dialog: says what goes, clears only on confirm. */
export function wireClear(writes: Writes, summary: () => { total_files: number; total_size_mb: number } | null): void {
  const dialog = byId<HTMLDialogElement>("clear-dialog");
  byId("clear").addEventListener("click", () => {
    const info = summary();
    byId("clear-text").textContent = info
      ? `This deletes all ${info.total_files} entries (${info.total_size_mb} MB) from the cache storage. ` +
        "Backtests will fetch them from Binance again."
      : "This deletes every entry from the cache storage.";
    dialog.showModal();
  });
  byId("clear-cancel").addEventListener("click", () => dialog.close());
  byId("clear-confirm").addEventListener("click", () => {
    dialog.close();
    void writes.clearCache();
  });
}
