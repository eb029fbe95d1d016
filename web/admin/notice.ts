import { byId } from "./dom.js";

/** Says what happened, in the page's one notice line (announced to screen readers). */
export function notify(text: string, kind: "ok" | "error"): void {
  const notice = byId("notice");
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = false;
}
