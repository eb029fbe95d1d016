import { Hono, type MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import type { AppDeps, AppEnv } from "./env.js";
import { accessLog } from "./middleware/access-log.js";
import { errorHandler, notFoundHandler } from "./middleware/errors.js";
import { OPEN_TO_OTHER_SITES, ownHostOnly, refuseOtherSites, type HostRule } from "./middleware/perimeter.js";
import { routesOf, ROUTES, type HttpFunctionName, type RouteName } from "./route-table.js";

/** A route's middleware and handler, in order. */
export type RouteChain = MiddlewareHandler<AppEnv>[];
/** Handlers by route name (see the route table). */
export type Handlers = Partial<Record<RouteName, RouteChain>>;

export interface AppOptions {
  /**
   * The local server's names: a request whose Host is not one of them is refused (DNS rebinding). Lambda passes
   * none: API Gateway and function URLs answer only HTTPS on their own domain names (routed by Host and SNI, with
   * their certificate), so a page on a rebound name never reaches the function, and the names it is reached by
   * (custom domains) are the gateway's to know.
   */
  hostRule?: HostRule;
}

/**
 * The app of one or more functions: the shared middleware, then each of their routes from the route table with its
 * handler, behind the refusal of other sites' pages unless the route is open to them. A table route without a
 * handler, or a handler the table does not route, is a setup error, thrown at once; any other path answers 404.
 */
export function appOf(
  fns: readonly HttpFunctionName[],
  deps: Pick<AppDeps, "log" | "clock">,
  handlers: Handlers,
  options: AppOptions = {},
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // On Lambda the request id is Lambda's own, so the access log line and Lambda's REPORT line share it.
  app.use(requestId({ generator: (c) => (c.env as AppEnv["Bindings"] | undefined)?.lambdaContext?.awsRequestId ?? crypto.randomUUID() }));
  app.use(accessLog(deps.log));
  if (options.hostRule) app.use(ownHostOnly(options.hostRule));
  app.onError(errorHandler(deps));
  app.notFound(notFoundHandler);
  const otherSitesRefused = refuseOtherSites();
  const routes = fns.flatMap(routesOf);
  for (const route of routes) {
    const chain = handlers[route.name];
    if (!chain) throw new Error(`No handler for route ${route.name} (${route.method} ${route.path}) of ${route.fn}`);
    const guard = OPEN_TO_OTHER_SITES.has(route.name) ? [] : [otherSitesRefused];
    app.on(route.method, route.path, ...([...guard, ...chain] as [MiddlewareHandler<AppEnv>]));
  }
  const stray = Object.keys(handlers).filter((name) => !routes.some((route) => route.name === name));
  if (stray.length > 0) throw new Error(`Handlers for routes the table does not give ${fns.join(", ")}: ${stray.join(", ")}`);
  return app;
}

/** Every function of the route table, for the local server (and the tests): the whole HTTP API on one app. */
export const ALL_HTTP_FUNCTIONS: readonly HttpFunctionName[] = [...new Set(ROUTES.map((route) => route.fn))];
