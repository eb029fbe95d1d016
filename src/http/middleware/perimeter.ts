import type { MiddlewareHandler } from "hono";
import { ForbiddenHostError, ForbiddenOriginError } from "../../errors.js";
import { parseHost, type HostName } from "../../util/host.js";
import type { AppEnv } from "../env.js";
import type { RouteName } from "../route-table.js";

/** The names the local server answers to in the Host header. */
export interface HostRule {
  /** The port it listens on: the loopback names and its own address name it on that port only. */
  port: number;
  /** The address it listens on (HOST). */
  address: string;
  /** More names (ALLOWED_HOSTS), each on any port or on its own. */
  allowed: readonly HostName[];
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];

/** Every name of the server under `rule`: the loopback names and its address on its port, and the allowed ones. */
export function serverNames(rule: HostRule): HostName[] {
  const address = parseHost(rule.address.includes(":") ? `[${rule.address}]` : rule.address);
  const own = [...LOOPBACK_NAMES, ...(address ? [address.hostname] : [])].map((hostname) => ({ hostname, port: rule.port }));
  return [...own, ...rule.allowed];
}

/** Whether a Host header is one of `names` (without a port it means 80: the server speaks plain HTTP). */
export function isOneOf(host: string, names: readonly HostName[]): boolean {
  const asked = parseHost(host);
  if (asked === null) return false;
  const port = asked.port ?? 80;
  return names.some((name) => name.hostname === asked.hostname && (name.port === undefined || name.port === port));
}

/**
 * Refuses a request whose Host header does not name this server: the defence against DNS rebinding, where a page
 * of evil.example has its name re-pointed at 127.0.0.1 and calls the service as its own origin (so its Origin and
 * Sec-Fetch-Site look same-origin, and it can read the answers too). The page's requests still say
 * `Host: evil.example:<port>`.
 */
export const ownHostOnly = (rule: HostRule): MiddlewareHandler<AppEnv> => {
  const names = serverNames(rule);
  return async function ownHostOnly(c, next) {
    const host = c.req.header("host") ?? new URL(c.req.url).host;
    if (!isOneOf(host, names)) throw new ForbiddenHostError(host);
    return next();
  };
};

/**
 * Routes a page of another site may reach: the admin page (a link to it from elsewhere; its CSP forbids framing it)
 * and the health check, which neither write, spend nor count anything. Every other route is closed to such pages:
 * all but metrics may write to the cache or to Redis (counts, symbol lists, index shards, Parquet forms) or spend
 * Binance's weight, whatever their method, and no other site has a reason to read metrics.
 */
export const OPEN_TO_OTHER_SITES: ReadonlySet<RouteName> = new Set<RouteName>(["adminPage", "health"]);

/**
 * Refuses a request a browser sends for a page of another site or origin: `Sec-Fetch-Site: cross-site | same-site`
 * (sent even on a no-cors GET such as `<img src>`, which carries no Origin), or an `Origin` that is not the
 * service's own (older browsers; `null` from sandboxed frames). The address bar says `none`, the service's own
 * page `same-origin`; curl and Python send neither header. Without a token, writes are open to the local machine,
 * not to every web page its user visits.
 */
export const refuseOtherSites = (): MiddlewareHandler<AppEnv> =>
  async function refuseOtherSites(c, next) {
    const site = c.req.header("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") throw new ForbiddenOriginError(`Sec-Fetch-Site: ${site}`);
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin) throw new ForbiddenOriginError(`Origin: ${origin}`);
    return next();
  };
