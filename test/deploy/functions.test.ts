import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import table from "../../src/functions.json" with { type: "json" };
import { ROUTES } from "../../src/http/route-table.js";

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
interface Generated {
  functions: Record<
    string,
    { handler: string; role: string; events: Record<string, unknown>[]; reservedConcurrency?: number; environment?: Record<string, unknown> }
  >;
  resources: { Resources: Record<string, { Type: string; Properties: { Policies: { PolicyDocument: { Statement: Statement[] } }[] } }> };
}

/** What serverless.yml reads of deploy/functions.cjs, as osls calls it at package time. */
async function generated(): Promise<Generated> {
  const make = createRequire(import.meta.url)("../../deploy/functions.cjs") as (helpers: unknown) => Promise<Generated>;
  return make({ resolveVariable: (name: string) => Promise.resolve(name === "self:custom.cachePrefix" ? "cache/data" : undefined) });
}

const statementsOf = (role: Generated["resources"]["Resources"][string]) => role.Properties.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
const actionsOf = (role: Generated["resources"]["Resources"][string]) =>
  statementsOf(role).flatMap((statement) => [statement.Action].flat()).sort();
const s3ActionsOf = (role: Generated["resources"]["Resources"][string]) => actionsOf(role).filter((action) => action.startsWith("s3:"));

describe("serverless.yml's functions, made from the route table", () => {
  it("give each function its handler in functions/ and exactly its routes as httpApi events", async () => {
    const { functions } = await generated();

    expect(Object.keys(functions).sort()).toEqual(Object.keys(table).sort());
    for (const [fn, spec] of Object.entries(table)) {
      expect(functions[fn]?.handler).toBe(`functions/${spec.file}.handler`);
      const routes = ROUTES.filter((route) => route.fn === fn).map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`);
      const events = (functions[fn]?.events ?? []).flatMap((event) => ("httpApi" in event ? [event.httpApi as { method: string; path: string }] : []));
      expect(events.map((event) => `${event.method} ${event.path}`).sort()).toEqual(routes.sort());
    }
    expect(functions.warmup?.events).toEqual([{ schedule: { rate: "rate(5 minutes)", enabled: true } }]);
    // The fill has no event: the klines and binance functions invoke it, by the name their environment gives.
    expect(functions.fill?.events).toEqual([]);
    for (const fn of ["klines", "binance"]) {
      expect(functions[fn]?.environment, fn).toEqual({ FILL_FUNCTION_NAME: { Ref: "FillLambdaFunction" } });
      expect(functions[fn]?.reservedConcurrency, fn).toBe(10);
    }
    // The derive function hears of each meta written under the cache prefix, and of nothing else.
    expect(functions.derive?.events).toEqual([
      {
        eventBridge: {
          pattern: {
            source: ["aws.s3"],
            "detail-type": ["Object Created"],
            detail: { bucket: { name: [{ Ref: "CacheBucket" }] }, object: { key: [{ wildcard: "cache/data/*_meta.json" }] } },
          },
        },
      },
    ]);
  });

  it("give each function a role of its own with only the S3 actions the table grants, on the cache prefix", async () => {
    const { functions, resources } = await generated();
    const roles = Object.values(functions).map((fn) => fn.role);

    expect(new Set(roles).size).toBe(roles.length);
    for (const [fn, spec] of Object.entries(table)) {
      const role = resources.Resources[functions[fn]?.role as string];
      expect(role?.Type).toBe("AWS::IAM::Role");
      expect(s3ActionsOf(role as NonNullable<typeof role>)).toEqual(spec.s3.map((action) => `s3:${action}`).sort());
    }
    expect(actionsOf(resources.Resources.GetRole as NonNullable<Generated["resources"]["Resources"][string]>)).toEqual(["s3:GetObject"]);
    expect(actionsOf(resources.Resources.DeriveRole as NonNullable<Generated["resources"]["Resources"][string]>)).toEqual(["s3:GetObject", "s3:PutObject"]);
    expect(JSON.stringify(resources.Resources.KlinesRole)).toContain("/cache/data/*");
    expect(JSON.stringify(resources.Resources.WarmupRole)).not.toContain("s3:");
    // The functions that answer reads only read: what they lack is made by derive (forms) and fill (partitions).
    for (const fn of ["get", "klines", "binance"]) {
      const actions = actionsOf(resources.Resources[functions[fn]?.role as string] as NonNullable<Generated["resources"]["Resources"][string]>);
      expect(actions.filter((action) => action.startsWith("s3:")), fn).toEqual(fn === "get" ? ["s3:GetObject"] : ["s3:GetObject", "s3:ListBucket"]);
    }
    for (const fn of ["get", "klines", "binance", "derive", "info", "cache", "commit", "uploadUrl", "symbols", "metrics", "admin", "warmup"]) {
      expect(JSON.stringify(resources.Resources[functions[fn]?.role as string]), fn).not.toContain("s3:DeleteObject");
    }
  });

  it("let only the klines and binance functions invoke the fill function, and nothing else", async () => {
    const { functions, resources } = await generated();
    for (const fn of Object.keys(table)) {
      const role = resources.Resources[functions[fn]?.role as string] as NonNullable<Generated["resources"]["Resources"][string]>;
      const invokes = statementsOf(role).filter((statement) => [statement.Action].flat().some((action) => action.startsWith("lambda:")));
      expect(invokes, fn).toEqual(fn === "klines" || fn === "binance" ? [{ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: { "Fn::GetAtt": ["FillLambdaFunction", "Arn"] } }] : []);
    }
  });
});
