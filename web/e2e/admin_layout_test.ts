/**
 * Chromium against the real system, for what only a browser shows: the admin forms keep and check
 * their input, a market listed meanwhile joins an open trade page, the order book is one Tab stop,
 * sign-up returns to the market, and every page fits a 390 px phone (top bar, order history).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { focused, launchBrowser } from "./browser.ts";
import { ADMIN, startSystem } from "./system.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SHOTS = `${ROOT}test-results/screenshots`;
const TIMEOUT = 15_000;

/** What the fake simulator reports: running or stopped, and which markets it has paused. */
const fakeSim = { running: true, paused: false, volatility: 0.0004 };

/** A simulator status as the simulator writes it: a raw volatility in force, and its bots. */
function simStatus() {
  return {
    running: fakeSim.running,
    profile: "custom",
    volatility: fakeSim.volatility,
    intervalMs: 250,
    step: 10,
    symbols: [{ symbol: "BTC-USD", paused: fakeSim.paused, price: "65000.00", regime: "calm" }],
    bots: {
      marketMakers: { count: 2, ratePerSec: 0.5, active: 2 },
      noiseTraders: { count: 4, ratePerSec: 0.5, active: 4 },
      momentumTraders: { count: 2, ratePerSec: 0.2, active: 2 },
    },
    ts: Date.now(),
  };
}

async function fakeSimulator(page: Page): Promise<void> {
  await page.route("**/v1/admin/sim/status", (route) => route.fulfill({ json: simStatus() }));
  // as the simulator would, it follows a market's pause and resume (a moment later)
  await page.route(/\/v1\/admin\/symbols\/BTC-USD\/(pause|resume)$/, async (route) => {
    const paused = route.request().url().endsWith("/pause");
    await route.continue();
    setTimeout(() => fakeSim.paused = paused, 800);
  });
  // and a raw volatility: a custom profile stays custom, so only the value tells it took effect
  await page.route("**/v1/admin/sim/volatility-profile", async (route) => {
    const { volatility } = JSON.parse(route.request().postData() ?? "{}");
    await route.continue();
    if (typeof volatility === "number") setTimeout(() => fakeSim.volatility = volatility, 800);
  });
}

Deno.test("web app in chromium: admin forms, live listing, book keyboard, sign-up return, phone layout", async (t) => {
  await Deno.mkdir(SHOTS, { recursive: true });
  await using sys = await startSystem();
  await using browser = await launchBrowser();
  const web = sys.webUrl;
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const adminLogin = await (await fetch(`${sys.gatewayUrl}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ADMIN),
  })).json();
  const adminSession = JSON.stringify({ ...adminLogin, expiresAt: Date.now() + adminLogin.expiresIn * 1000 });
  const api = async (path: string, token: string, body?: unknown) => {
    const res = await fetch(`${sys.gatewayUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };

  try {
    await t.step("/trade opens BTC-USD", async () => {
      const res = await fetch(`${web}/trade?tf=5m`, { redirect: "manual" });
      await res.body?.cancel();
      assert.equal(new URL(res.headers.get("location")!, web).pathname + "?tf=5m", "/trade/BTC-USD?tf=5m");
    });

    await t.step("the trade page's sign-up link comes back to the market", async () => {
      await page.goto(`${web}/trade/ETH-USD`);
      await page.locator(".login-hint").getByRole("link", { name: "sign up" }).click();
      await page.waitForURL((u) => u.pathname === "/signup");
      await page.locator("#auth-username").fill("carol");
      await page.locator("#auth-password").fill("password-123");
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.waitForURL((u) => u.pathname === "/trade/ETH-USD", { timeout: TIMEOUT });
    });

    const carol = JSON.parse((await page.evaluate(() => localStorage.getItem("kalency.session")))!);

    await t.step("the order book is one Tab stop; the arrow keys and Enter pick a price", async () => {
      for (const price of ["3000", "3001", "3002"]) {
        await api("/v1/orders", carol.accessToken, {
          symbol: "ETH-USD",
          side: "SELL",
          type: "LIMIT",
          price,
          qty: "0.1",
        });
      }
      await api("/v1/orders", carol.accessToken, {
        symbol: "ETH-USD",
        side: "BUY",
        type: "LIMIT",
        price: "2990",
        qty: "0.1",
      });
      await page.reload();
      await page.locator(".levels.asks li", { hasText: "3002.00" }).waitFor();
      const stops = () =>
        page.evaluate(() =>
          [...document.querySelectorAll<HTMLElement>(".book button")].filter((b) => b.tabIndex >= 0).length
        );
      assert.equal(await stops(), 1);
      await page.locator(".book button[tabindex='0']").focus();
      assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? "", /^3000\.00/);
      await page.keyboard.press("ArrowUp");
      assert.match((await page.evaluate(() => document.activeElement?.textContent)) ?? "", /^3001\.00/);
      assert.equal(await stops(), 1);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() =>
        // with the tick's places, as the book shows it
        (document.getElementById("of-price") as HTMLInputElement).value === "3001.00"
      );
      // the focused level leaves the book: focus stays in the book, on the price now in its place
      await page.locator(".book button", { hasText: /^3001\.00/ }).focus();
      await api("/v1/orders", carol.accessToken, {
        symbol: "ETH-USD",
        side: "BUY",
        type: "LIMIT",
        price: "3001",
        qty: "0.2",
        stp: "NONE",
      });
      await page.locator(".levels.asks li", { hasText: "3001.00" }).waitFor({ state: "detached" });
      await page.waitForFunction(() => document.activeElement?.closest(".book") !== null);
      await page.keyboard.press("Enter");
      await page.waitForFunction(() =>
        ["3002.00", "2990.00"].includes((document.getElementById("of-price") as HTMLInputElement).value)
      );
      // the trades below the book are not fifty Tab stops before the order form
      const tapeStops = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>(".tape button")].filter((b) => b.tabIndex >= 0).length
      );
      assert.equal(tapeStops, 0);
    });

    await t.step("the order form's result follows the order: open, then filled", async () => {
      await page.getByRole("radio", { name: "Limit" }).click();
      await page.locator("#of-price").fill("2995");
      await page.locator("#of-qty").fill("0.05");
      await page.getByRole("button", { name: "Buy ETH" }).click();
      await page.locator(".order-result[data-status=ACCEPTED]").waitFor();
      const seller = await (await fetch(`${sys.gatewayUrl}/v1/auth/signup`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "dave", password: "password-123" }),
      })).json();
      await api("/v1/orders", seller.accessToken, {
        symbol: "ETH-USD",
        side: "SELL",
        type: "LIMIT",
        price: "2995",
        qty: "0.05",
      });
      const filled = page.locator(".order-result[data-status=FILLED]");
      await filled.waitFor();
      assert.match((await filled.innerText()).trim(), /^Order filled \(0\.050* ETH at 2,995\.00\)$/);
    });

    await t.step("a market listed meanwhile joins the open page's pairs", async () => {
      await page.locator(".pairs a", { hasText: "BTC" }).first().waitFor();
      assert.equal(await page.locator('.pairs a[href^="/trade/SOL-USD"]').count(), 0);
      await api("/v1/admin/symbols/SOL-USD/ensure", adminLogin.accessToken, { startPrice: "150" });
      await page.locator('.pairs a[href^="/trade/SOL-USD"]').waitFor({ timeout: 12_000 });
    });

    await t.step("the order history fits a phone: status and amount in sight", async () => {
      const phone = await browser.context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.goto(`${web}/orders`, { waitUntil: "networkidle" });
      await phone.getByRole("tab", { name: "Order history" }).click();
      const row = phone.getByTestId("order-history").locator("tr[data-order-id]").first();
      await row.waitFor();
      // in sight: inside the table's scrolling box as it first shows
      const box = await phone.getByTestId("order-history").evaluate((t) =>
        t.closest(".table-scroll")!.getBoundingClientRect().right
      );
      const heads = await phone.getByTestId("order-history").locator("thead th").evaluateAll((ths) =>
        ths.filter((th) => (th as HTMLElement).offsetParent !== null).map((th) => ({
          text: th.textContent!.trim(),
          right: Math.round(th.getBoundingClientRect().right),
        }))
      );
      for (const name of ["Amount", "Status"]) {
        const head = heads.find((h) => h.text === name);
        assert.ok(head && head.right <= box, `${name} is in sight (${box} px): ${JSON.stringify(heads)}`);
      }
      assert.ok(
        await phone.evaluate(() => document.documentElement.scrollWidth) <= 390,
        "no sideways scroll",
      );
      await phone.screenshot({ path: `${SHOTS}/orders-phone.png`, fullPage: true });
      await phone.close();
    });

    await t.step("the admin forms check their input and keep it when the gateway refuses", async () => {
      await page.evaluate((s) => localStorage.setItem("kalency.session", s), adminSession);
      await fakeSimulator(page);
      await page.goto(`${web}/admin`);
      // the profile shown is the simulator's: a raw volatility is in force
      await page.waitForFunction(() =>
        (document.querySelector("[data-testid=profile]") as HTMLSelectElement | null)?.value === "custom"
      );
      await page.locator("text=/updated \\d\\d:\\d\\d:\\d\\d$/").waitFor();

      await page.getByLabel("Raw volatility per tick").fill("abc");
      await page.locator("form", { has: page.getByLabel("Raw volatility per tick") }).getByRole("button")
        .click();
      await page.getByRole("alert").filter({ hasText: "Enter a number from 0 to 0.1." }).waitFor();
      const bots = page.getByRole("form", { name: "Bots" });
      await bots.getByLabel("Count").fill("many");
      await bots.getByRole("button", { name: "Set" }).click();
      await page.getByRole("alert").filter({ hasText: "Enter a whole number from 0 to 1000." }).waitFor();
      assert.equal(await page.getByText(/Invalid input|expected number/).count(), 0);

      const symbol = page.getByLabel("List or re-open a market");
      const start = page.getByLabel("Start price (new markets)");
      const ensure = page.getByRole("button", { name: "Ensure" });
      await symbol.fill("SOL-USD");
      await start.fill("abc");
      await ensure.click();
      await page.getByRole("alert").filter({ hasText: "start price as a number" }).waitFor();
      // the price is what is wrong: it, not the symbol, is marked and described
      assert.equal(await start.getAttribute("aria-invalid"), "true");
      assert.equal(await symbol.getAttribute("aria-invalid"), null);
      assert.match(
        await page.locator(`#${await start.getAttribute("aria-describedby")}`).innerText(),
        /start price as a number/,
      );
      assert.equal(await symbol.inputValue(), "SOL-USD");
      assert.equal(await start.inputValue(), "abc");
      // listed at 150 already: another start price is refused, and the input stays
      await start.fill("151");
      await ensure.click();
      await page.getByRole("status").filter({ hasText: "Ensure SOL-USD:" }).filter({
        hasText: "listed already",
      })
        .waitFor();
      assert.equal(await symbol.inputValue(), "SOL-USD");
      assert.equal(await start.inputValue(), "151");
      await start.fill("");
      await ensure.click();
      await page.getByRole("status").filter({ hasText: "Ensure SOL-USD: done" }).waitFor();
      await page.waitForFunction(() =>
        (document.querySelector('input[placeholder="SOL-USD"]') as HTMLInputElement).value === ""
      );
    });

    await t.step("admin answers: one per section, the focus kept, the table in step", async () => {
      // a raw volatility written with an exponent is taken; a later bad input replaces its answer
      const volatility = page.getByLabel("Raw volatility per tick");
      const setVolatility = page.locator("form", { has: volatility }).getByRole("button");
      await volatility.fill("1e-3");
      await setVolatility.focus();
      await page.keyboard.press("Enter");
      const applied = page.getByRole("status").filter({ hasText: "Volatility: applied" });
      await applied.waitFor();
      // said once the simulator shows the new value (it was custom already, at another value)
      const shown = await page.evaluate(async (url) => {
        const session = JSON.parse(localStorage.getItem("kalency.session") ?? "{}");
        const res = await fetch(`${url}/v1/admin/sim/status`, {
          headers: { authorization: `Bearer ${session.accessToken}` },
        });
        return (await res.json()).volatility;
      }, sys.gatewayUrl);
      assert.equal(shown, 0.001);
      assert.equal(await focused(page), "Set");
      await volatility.fill("abc");
      await setVolatility.click();
      await page.getByRole("alert").filter({ hasText: "Enter a number from 0 to 0.1." }).waitFor();
      assert.equal(await applied.count(), 0, "the earlier answer is gone");

      // pause and resume: the row reads the new state when the answer shows, the focus stays
      const row = page.locator('tr[data-symbol="BTC-USD"]');
      const cells = () => row.locator("td").evaluateAll((tds) => tds.map((td) => td.textContent!.trim()));
      await row.getByRole("button", { name: "Pause" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Pause BTC-USD: done" }).waitFor();
      const paused = await cells();
      assert.deepEqual([paused[0], paused[1], paused.at(-1)], ["paused", "paused", "Resume"]);
      assert.equal(await focused(page), "Resume");
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Resume BTC-USD: done" }).waitFor();
      const resumed = await cells();
      assert.deepEqual([resumed[0], resumed[1], resumed.at(-1)], ["trading", "running", "Pause"]);
      assert.equal(await focused(page), "Pause");

      // a stopped simulator runs no market
      fakeSim.running = false;
      await page.reload();
      await page.getByTestId("sim-running").filter({ hasText: "stopped" }).waitFor();
      assert.equal((await cells())[1], "stopped");
      fakeSim.running = true;
    });

    await t.step("every page fits a phone, with a compact top bar", async () => {
      const phone = await browser.context.newPage();
      await fakeSimulator(phone);
      await phone.setViewportSize({ width: 390, height: 844 });
      for (const path of ["/", "/trade/BTC-USD", "/wallet", "/orders", "/api-keys", "/admin"]) {
        await phone.goto(`${web}${path}`, { waitUntil: "networkidle" });
        if (path === "/admin") await phone.getByTestId("bots").locator("table").waitFor();
        const width = await phone.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${path} is ${width} px wide on a 390 px screen`);
        const bar = await phone.locator(".topbar").evaluate((e) => e.getBoundingClientRect().height);
        assert.ok(bar <= 84, `${path}: the top bar is ${bar} px high`);
      }
      await phone.screenshot({ path: `${SHOTS}/admin-phone.png`, fullPage: true });
      await phone.close();
    });

    await t.step(
      "the API key's secret says how to sign, with a link to the gateway's reference",
      async () => {
        await page.goto(`${web}/api-keys`);
        await page.locator("#key-label").fill("bot");
        await page.getByRole("button", { name: "Create key" }).click();
        const secret = page.getByTestId("new-secret");
        await secret.waitFor();
        assert.doesNotMatch(await secret.innerText(), /docs\/auth\.md/);
        assert.equal(
          await secret.getByRole("link", { name: "API reference" }).getAttribute("href"),
          `${sys.gatewayUrl}/docs`.replace("127.0.0.1", new URL(web).hostname),
        );
      },
    );
  } catch (e) {
    await page.screenshot({ path: `${SHOTS}/admin-layout-failure.png`, fullPage: true }).catch(() => {});
    throw new Error(`${(e as Error).message}\n\nprocess logs:\n${sys.logs()}`, { cause: e });
  }
});
