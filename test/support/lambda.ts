import { vi } from "vitest";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

/** An API Gateway HTTP API (payload 2.0) event, as Lambda receives it. */
export function httpApiEvent(
  method: string,
  path: string,
  options: { query?: Record<string, string>; headers?: Record<string, string>; body?: string; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const rawQueryString = new URLSearchParams(options.query ?? {}).toString();
  const domainName = "abc123.execute-api.us-east-1.amazonaws.com";
  return {
    version: "2.0",
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString,
    headers: { host: domainName, "user-agent": "vitest", ...lowerCased(options.headers ?? {}) },
    queryStringParameters: options.query,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName,
      domainPrefix: "abc123",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: "lambda-req-1",
      routeKey: `${method} ${path}`,
      stage: "$default",
      time: "25/Nov/2026:12:00:00 +0000",
      timeEpoch: Date.UTC(2026, 10, 25, 12),
    },
    body: options.body === undefined ? undefined : options.base64 ? Buffer.from(options.body).toString("base64") : options.body,
    isBase64Encoded: options.base64 ?? false,
  };
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** The environment serverless.yml gives a function, pointed at a bucket of the moto server (test/support/s3.ts). */
export function stubLambdaS3Env(bucket: string, endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string }): void {
  vi.stubEnv("STORAGE_DRIVER", "s3");
  vi.stubEnv("S3_BUCKET", bucket);
  vi.stubEnv("S3_PREFIX", "cache/data");
  vi.stubEnv("S3_ENDPOINT", endpoint);
  vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
}
