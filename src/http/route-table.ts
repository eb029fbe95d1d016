import table from "../functions.json" with { type: "json" };

/**
 * The one route table, read by the app (each function mounts its routes from here, the local server all of them)
 * and by serverless.yml (deploy/functions.cjs turns it into each function's events and IAM role).
 */
type Table = typeof table;
export type FunctionName = keyof Table;
export type HttpFunctionName = { [F in FunctionName]: Table[F] extends { routes: object } ? F : never }[FunctionName];
export type RouteName = { [F in HttpFunctionName]: keyof Table[F]["routes"] }[HttpFunctionName];

export interface Route {
  fn: HttpFunctionName;
  name: RouteName;
  method: string;
  /** In Hono's syntax (`:market`); the table writes API Gateway's (`{market}`). */
  path: string;
}

/** Every HTTP route, with the function that serves it. */
export const ROUTES: readonly Route[] = Object.entries(table).flatMap(([fn, spec]) =>
  Object.entries("routes" in spec ? spec.routes : {}).map(([name, route]) => {
    const [method, path] = String(route).split(" ") as [string, string];
    return { fn: fn as HttpFunctionName, name: name as RouteName, method, path: path.replace(/\{(\w+)\}/g, ":$1") };
  }),
);

export const routesOf = (fn: HttpFunctionName): Route[] => ROUTES.filter((route) => route.fn === fn);
