/**
 * Launches Debian's chromium through playwright-core for the browser tests. A missing chromium is
 * an error with the fix in its message, never a skipped test.
 * @module
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** Path of a chromium binary: $CHROMIUM_PATH, else the first of the usual names on PATH. */
export async function findChromium(): Promise<string> {
  const fromEnv = Deno.env.get("CHROMIUM_PATH");
  if (fromEnv) return fromEnv;
  for (const name of CANDIDATES) {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    const path = new TextDecoder().decode(out.stdout).trim();
    if (out.success && path) return path;
  }
  throw new Error(
    "chromium is not installed, and the browser tests need it: run `apt-get install chromium` " +
      "(tools/setup.sh --tests does it), or set CHROMIUM_PATH to a Chromium/Chrome binary",
  );
}

/** A headless chromium with a fresh profile; disposing closes it and deletes the profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext } & AsyncDisposable> {
  const executablePath = await findChromium();
  // Playwright refuses --user-data-dir in args; a fresh profile goes through launchPersistentContext.
  const profile = await Deno.makeTempDir({ prefix: "kalency-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async [Symbol.asyncDispose]() {
      await context.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * What has the keyboard focus, for assertions: "body" when nothing does (the focus was lost), else
 * the element's id, aria-label or text.
 */
export function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    if (!a || a === document.body) return "body";
    return a.id || a.getAttribute("aria-label") || (a.textContent ?? "").trim() || a.tagName;
  });
}
