/** The API token dialog: asked when a call needs it, kept for this tab, forgotten when the service refuses it. */
import { storedToken, storeToken } from "./api.js";
import { byId } from "./dom.js";
import { notify } from "./notice.js";

/** What was being done when the token was asked for: done once it is given. */
export interface Pending {
  /** In words, after "to": `delete BTCUSDT …`, `read the cache`. */
  what: string;
  run: () => void;
}

let pending: Pending | null = null;

export function askToken(action: Pending | null, error: string): void {
  pending = action;
  const message = byId("token-error");
  message.textContent = error;
  message.hidden = !error;
  const input = byId<HTMLInputElement>("token-input");
  input.value = "";
  const dialog = byId<HTMLDialogElement>("token-dialog");
  if (!dialog.open) dialog.showModal();
  input.focus();
}

export function setToken(token: string | null): void {
  storeToken(token);
  renderTokenState();
}

function renderTokenState(): void {
  const status = document.getElementById("token-status");
  if (status === null) return;
  const has = storedToken() !== null;
  status.textContent = has ? "Token entered for this tab." : "No token entered yet.";
  byId("token-enter").textContent = has ? "Change token" : "Enter token";
  byId("token-forget").hidden = !has;
}

export function wireToken(tokenRequired: boolean): void {
  const dialog = byId<HTMLDialogElement>("token-dialog");
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = byId<HTMLInputElement>("token-input").value.trim();
    if (!token) return;
    setToken(token);
    dialog.close();
    const action = pending;
    pending = null;
    if (action) action.run();
    else notify("Token kept for this tab; the service checks it on the next delete or clear.", "ok");
  });
  const cancel = () => {
    if (pending) notify(`Cancelled: to ${pending.what}, the service needs its API token.`, "error");
    pending = null;
    dialog.close();
  };
  byId("token-cancel").addEventListener("click", cancel);
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    cancel();
  });
  if (!tokenRequired) return;
  byId("token-enter").addEventListener("click", () => askToken(null, ""));
  byId("token-forget").addEventListener("click", () => {
    setToken(null);
    notify("Token forgotten for this tab.", "ok");
  });
  renderTokenState();
}
