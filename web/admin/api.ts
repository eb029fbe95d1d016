/**
 * The page's one way to call the service: URLs from the route table (never written out here), the token of this tab
 * on every request, and answers that never throw.
 */
import { ROUTES, type RouteName } from "../../src/http/route-table.js";

const TOKEN_KEY = "candle-cache:api-token";
let memoryToken: string | null = null;

/** The token this tab keeps (sessionStorage; in memory where storage is refused). */
export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return memoryToken;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    memoryToken = token;
  }
}

/**
 * A route's URL relative to the page, with the query parameters that are set: the page is served at the API's root,
 * which on API Gateway sits under a stage prefix (`/dev/`).
 */
export function urlOf(name: RouteName, query: Record<string, string | undefined> = {}): string {
  const route = ROUTES.find((candidate) => candidate.name === name);
  if (route === undefined) throw new Error(`no route ${name}`);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, value);
  const search = params.toString();
  return route.path.slice(1) + (search ? `?${search}` : "");
}

/** The stable error shape of every 4xx and 5xx. */
interface ErrorBody {
  status: "error";
  error: { code?: string; message?: string };
}

/** An answer: `data` when the service answered success, else `status` (0: never reached) and its message. */
export type Result<T> = { ok: true; status: number; data: T } | { ok: false; status: number; message: string | null };

/** fetch that never throws. */
export async function request<T>(url: string, init: RequestInit = {}): Promise<Result<T>> {
  try {
    // Reads carry the token too: a service with CACHE_READ_TOKEN answers 401 without it.
    const token = storedToken();
    const headers = { ...(token === null ? {} : { Authorization: `Bearer ${token}` }), ...(init.headers as Record<string, string>) };
    const response = await fetch(url, { cache: "no-store", ...init, headers });
    const body = (await response.json().catch(() => null)) as { data?: T } | ErrorBody | null;
    if (response.ok && body !== null && "data" in body && body.data !== undefined) return { ok: true, status: response.status, data: body.data };
    const message = body !== null && "error" in body ? (body.error.message ?? null) : null;
    return { ok: false, status: response.status, message };
  } catch (error) {
    // A network failure, or a request the browser refused to send (a token no header can carry).
    const message = error instanceof TypeError && error.message !== "Failed to fetch" ? error.message : "the service could not be reached";
    return { ok: false, status: 0, message };
  }
}

/** A failed answer in words: `HTTP 503: …`, or `network error: …`. */
export function problem(result: { status: number; message: string | null }): string {
  return (result.status ? `HTTP ${result.status}` : "network error") + (result.message ? `: ${result.message}` : "");
}
