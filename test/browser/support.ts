import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Hono } from "hono";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { AppEnv } from "../../src/http/env.js";

/** Debian's Chromium; CHROMIUM_PATH points elsewhere. Playwright's own browsers are never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dirname, "..", "..", "test-artifacts");
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * Headless Chromium on a fresh profile folder, with `args` beside the usual ones; fails loudly (never skips) when
 * the browser is not installed.
 */
export async function launchChromium(options: { args?: string[] } = {}): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the browser tests need it. Install it with ` +
        "`apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH).",
    );
  }
  const userDataDir = mkdtempSync(join(tmpdir(), "candle-cache-chromium-"));
  // launchPersistentContext is how Playwright takes a --user-data-dir: a fresh one per run, removed after.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: DESKTOP,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...(options.args ?? []),
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The app on a real HTTP server on a free loopback port, as `npm start` serves it. */
export async function serveApp(app: Hono<AppEnv>): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (address: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * Everything the page reports as wrong: console errors, uncaught exceptions, native dialogs (the page must use
 * its own). Chromium also logs each non-2xx fetch as a console error ("Failed to load resource"); a test names
 * the ones it provokes on purpose with `expectFailedRequest`, and only those are let through.
 */
export function watchPage(page: Page) {
  const errors: { text: string; url: string }[] = [];
  const expected: { path: string; status: number }[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push({ text: message.text(), url: message.location().url });
  });
  page.on("pageerror", (error) => errors.push({ text: `uncaught: ${error.message}`, url: "" }));
  page.on("dialog", (dialog) => {
    errors.push({ text: `native ${dialog.type()} dialog: ${dialog.message()}`, url: "" });
    void dialog.dismiss();
  });
  return {
    expectFailedRequest(path: string, status: number): void {
      expected.push({ path, status });
    },
    /** The errors left once the provoked request failures are set aside. */
    unexpected(): string[] {
      return errors
        .filter(
          ({ text, url }) =>
            !expected.some(
              (failure) =>
                url !== "" &&
                new URL(url).pathname === failure.path &&
                text.startsWith(`Failed to load resource: the server responded with a status of ${failure.status} `),
            ),
        )
        .map(({ text, url }) => (url ? `${text} (${url})` : text));
    },
    all: () => errors,
  };
}

/**
 * Saves a screenshot into test-artifacts/ and returns its path: the whole page, or only the viewport when a modal
 * dialog is open (its backdrop covers the viewport, not the whole page).
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true });
  return path;
}

/** Resolves once the page has loaded (or reloaded) its figures: the script clears aria-busy. */
export async function pageSettled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.getElementById("admin")?.getAttribute("aria-busy") === "false");
}
