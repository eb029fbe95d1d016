// @ts-check
/**
 * serverless.yml's functions and their IAM roles, made from the one route table (src/functions.json): each function
 * gets its events (its routes, its schedule, the bucket's object events, or none: invoked by another) and a role of
 * its own with only the S3 actions the table grants it, on the cache prefix of the bucket only, and the right to
 * invoke the functions it `invokes` (whose names it is given as <NAME>_FUNCTION_NAME). osls loads this file at package time: `${file(./deploy/functions.cjs):…}`.
 */
const table = require("../src/functions.json");

const pascal = (name) => name[0].toUpperCase() + name.slice(1);
const roleOf = (fn) => `${pascal(fn)}Role`;
/** The logical id osls gives a function's AWS::Lambda::Function. */
const functionResourceOf = (fn) => `${pascal(fn)}LambdaFunction`;
const OBJECT_ACTIONS = new Set(["GetObject", "PutObject", "DeleteObject"]);

/**
 * The events of one function: an httpApi event per route, its schedule (overridable from the environment), or the
 * bucket's "Object Created" events (through EventBridge) of the keys under the cache prefix with the given suffix.
 */
function eventsOf(spec, prefix) {
  if (spec.invoked) return [];
  if (spec.schedule) return [{ schedule: { rate: process.env[spec.schedule.env] || spec.schedule.rate, enabled: true } }];
  if (spec.objectCreated) {
    const pattern = {
      source: ["aws.s3"],
      "detail-type": ["Object Created"],
      detail: {
        bucket: { name: [{ Ref: "CacheBucket" }] },
        object: { key: [{ wildcard: `${prefix}/*${spec.objectCreated.suffix}` }] },
      },
    };
    return [{ eventBridge: { pattern } }];
  }
  return Object.values(spec.routes).map((route) => {
    const [method, path] = route.split(" ");
    return { httpApi: { method, path } };
  });
}

/** A role that lets Lambda run the function, write its logs, and do the table's S3 actions and nothing else. */
function roleResource(fn, spec, prefix) {
  const objectActions = spec.s3.filter((action) => OBJECT_ACTIONS.has(action)).map((action) => `s3:${action}`);
  const statements = [];
  if (objectActions.length > 0) {
    statements.push({
      Effect: "Allow",
      Action: objectActions,
      Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": ["CacheBucket", "Arn"] }, `/${prefix}/*`]] },
    });
  }
  if (spec.s3.includes("ListBucket")) {
    statements.push({
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: { "Fn::GetAtt": ["CacheBucket", "Arn"] },
      Condition: { StringLike: { "s3:prefix": [`${prefix}/*`] } },
    });
  }
  for (const target of spec.invokes ?? []) {
    statements.push({ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: { "Fn::GetAtt": [functionResourceOf(target), "Arn"] } });
  }
  return {
    Type: "AWS::IAM::Role",
    Properties: {
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      },
      ManagedPolicyArns: [{ "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" }],
      Policies:
        statements.length === 0
          ? []
          : [{ PolicyName: `${fn}-cache`, PolicyDocument: { Version: "2012-10-17", Statement: statements } }],
    },
  };
}

/** The names of the functions a function invokes, as its environment: FILL_FUNCTION_NAME for `fill`. */
const environmentOf = (targets) =>
  Object.fromEntries(targets.map((target) => [`${target.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}_FUNCTION_NAME`, { Ref: functionResourceOf(target) }]));

module.exports = async ({ resolveVariable }) => {
  const prefix = await resolveVariable("self:custom.cachePrefix");
  const functions = {};
  const Resources = {};
  for (const [fn, spec] of Object.entries(table)) {
    functions[fn] = {
      handler: `functions/${spec.file}.handler`,
      description: spec.description,
      role: roleOf(fn),
      events: eventsOf(spec, prefix),
      ...(spec.timeout ? { timeout: spec.timeout } : {}),
      ...(spec.memorySize ? { memorySize: spec.memorySize } : {}),
      ...(spec.invokes ? { environment: environmentOf(spec.invokes) } : {}),
      ...(spec.concurrency ? { reservedConcurrency: Number(process.env[spec.concurrency.env] || spec.concurrency.max) } : {}),
    };
    Resources[roleOf(fn)] = roleResource(fn, spec, prefix);
  }
  return { functions, resources: { Resources } };
};
