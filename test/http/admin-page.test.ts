import { createHash } from "node:crypto";
import { Script } from "node:vm";
import type { APIGatewayProxyResult } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { ADMIN_SCRIPT } from "../../src/http/admin/script.bundle.js";
import { ADMIN_STYLE } from "../../src/http/admin/style.js";
import { TRADINGVIEW } from "../../src/http/routes/admin-page.js";
import { testApp } from "../support/app.js";
import { tempDir } from "../support/fixtures.js";
import { httpApiEvent } from "../support/lambda.js";

const PAGE_SOURCES = join(import.meta.dirname, "..", "..", "web", "admin");

/** The page's HTML as the app answers it; what it does in a browser is test/browser's job. */
async function getPage(options: { cacheApiToken?: string } = {}) {
  const response = await testApp(options).app.request("/");
  return { response, html: await response.text() };
}

const between = (html: string, open: string, close: string): string => {
  const start = html.indexOf(open);
  return html.slice(start + open.length, html.indexOf(close, start));
};
const cspHash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

describe("GET / (the admin page)", () => {
  it("answers one HTML page that loads nothing from elsewhere", async () => {
    const { response, html } = await getPage();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(html.startsWith("<!doctype html><html lang=\"en\">")).toBe(true);
    expect(html).not.toMatch(/\ssrc=/);
    // The one address outside the script is the credit lightweight-charts' licence asks for, a plain link.
    const markup = html.replace(between(html, "<script>", "</script>"), "");
    expect(markup.match(/https?:\/\/[^"'\s<]*/g)).toEqual([TRADINGVIEW]);
    expect(markup).not.toMatch(/<link[^>]+stylesheet/);
    expect(markup).not.toMatch(/@import|url\(/);
  });

  it("is sent compressed to a browser that takes br or gzip, the same page once decoded", async () => {
    const { html } = await getPage();
    for (const [coding, decode] of [["br", brotliDecompressSync], ["gzip", gunzipSync]] as const) {
      const response = await testApp().app.request("/", { headers: { "Accept-Encoding": coding } });
      expect(response.headers.get("content-encoding")).toBe(coding);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.length).toBeLessThan(Buffer.byteLength(html) / 2);
      expect(decode(bytes).toString("utf8")).toBe(html);
    }
  });

  it("lets the browser run only its own inline script and style, which are exactly the modules' text", async () => {
    const { response, html } = await getPage();
    const csp = response.headers.get("content-security-policy") ?? "";
    const script = between(html, "<script>", "</script>");
    const style = between(html, "<style>", "</style>");
    expect(script).toBe(ADMIN_SCRIPT);
    expect(style).toBe(ADMIN_STYLE);
    expect(csp).toContain(`script-src ${cspHash(script)};`);
    expect(csp).toContain(`style-src ${cspHash(style)};`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it("ships a script that parses, built from page sources that never write HTML", () => {
    expect(() => new Script(ADMIN_SCRIPT)).not.toThrow();
    expect(ADMIN_SCRIPT).not.toContain("</script");
    const sources = readdirSync(PAGE_SOURCES).filter((name) => name.endsWith(".ts"));
    expect(sources).toContain("main.ts");
    for (const name of sources) {
      const source = readFileSync(join(PAGE_SOURCES, name), "utf8");
      expect(source, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|window\.prompt|\bprompt\(/);
    }
    // Nor does the bundle call anything but the service, bar the library's own credit link (not loaded).
    expect(ADMIN_SCRIPT).not.toMatch(/\bfetch\(\s*["'`]https?:/);
  });

  it("labels every control and heads every column", async () => {
    const { html } = await getPage({ cacheApiToken: "s3cret" });
    for (const id of ["filter-symbol", "filter-interval", "filter-market", "token-input"]) {
      expect(html).toContain(`<label for="${id}">`);
      expect(html).toContain(`id="${id}"`);
    }
    for (const column of ["symbol", "interval", "dates", "market", "rows", "cached", "expires"]) {
      expect(html).toMatch(new RegExp(`<th scope="col" data-sort="${column}"[^>]*><button type="button">`));
    }
    expect(html).toContain('<dialog id="clear-dialog" aria-labelledby="clear-title"');
    expect(html).toContain('<dialog id="token-dialog" aria-labelledby="token-title"');
  });

  it("tells the script whether writes need the token, without ever carrying the token", async () => {
    const guarded = await getPage({ cacheApiToken: "s3cret-token-value" });
    expect(guarded.html).toContain('data-token-required="true"');
    expect(guarded.html).toContain('id="token-enter"');
    expect(guarded.html).not.toContain("s3cret-token-value");
    const open = await getPage();
    expect(open.html).toContain('data-token-required="false"');
    expect(open.html).toContain("Writes are open");
    expect(open.html).not.toContain('id="token-enter"');
  });

  it("is served by its Lambda function on an API Gateway event", async () => {
    vi.stubEnv("STORAGE_DRIVER", "fs");
    vi.stubEnv("CACHE_DIR", tempDir());
    vi.stubEnv("CACHE_API_TOKEN", "lambda-token");
    vi.stubEnv("LOG_LEVEL", "silent");
    try {
      const { handler } = (await import("../../functions/admin.js")) as {
        handler: (event: unknown) => Promise<APIGatewayProxyResult>;
      };
      const result = await handler(httpApiEvent("GET", "/"));
      expect(result.statusCode).toBe(200);
      expect(result.isBase64Encoded).toBe(false);
      expect(result.headers?.["content-type"]).toBe("text/html; charset=UTF-8");
      expect(result.body).toContain('data-token-required="true"');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
