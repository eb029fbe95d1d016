/** The page's few DOM helpers. Values from the cache reach the page only as text or attributes, never as HTML. */

/** The element of this id in the page's markup (src/http/routes/admin-page.tsx); throws when the markup lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the admin page has no #${id}`);
  return element as T;
}

interface Props {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** A new element with its class, text and attributes. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** A table cell; `label` names it where the table becomes cards (under 700px). */
export const cell = (text: string, label?: string, className?: string): HTMLTableCellElement =>
  element("td", { text, ...(className ? { className } : {}), ...(label ? { attrs: { "data-label": label } } : {}) });

/** A row heading cell. */
export const rowHeader = (text: string): HTMLTableCellElement => element("th", { text, attrs: { scope: "row" } });

/** A button that runs `action` when clicked. */
export function button(text: string, action: () => void, props: Props = {}): HTMLButtonElement {
  const node = element("button", { text, ...props, attrs: { type: "button", ...props.attrs } });
  node.addEventListener("click", action);
  return node;
}
