/**
 * The whole web app in headless chromium against the real system (engine, candle aggregator, ledger
 * writer, gateway, web; the simulator off): sign up, trade between two users, cancel, see the
 * API's field error, and visit every page. Screenshots go to test-results/screenshots/; the
 * JavaScript each page loads is written to test-results/js-size.json.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { gzipSize } from "../build.ts";
import { MARKET_DATA_TTL_MS } from "../market_data_cache.ts";
import { focused, launchBrowser } from "./browser.ts";
import { ADMIN, startSystem } from "./system.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SHOTS = `${ROOT}test-results/screenshots`;
const TIMEOUT = 15_000;

async function signUp(page: Page, webUrl: string, username: string, next: string): Promise<void> {
  await page.goto(`${webUrl}/signup?next=${encodeURIComponent(next)}`);
  await page.locator("#auth-username").fill(username);
  await page.locator("#auth-password").fill("password-123");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL((u) => u.pathname === next.split("?")[0], { timeout: TIMEOUT });
}

async function placeLimit(page: Page, side: "Buy" | "Sell", price: string, qty: string): Promise<void> {
  await page.getByRole("radio", { name: side, exact: true }).click();
  await page.getByRole("radio", { name: "Limit" }).click();
  await page.locator("#of-price").fill(price);
  await page.locator("#of-qty").fill(qty);
  await page.getByRole("button", { name: `${side} BTC` }).click();
}

/** Signs a user up through the API; returns the access token. */
async function apiSignUp(gatewayUrl: string, username: string): Promise<string> {
  const r = await fetch(`${gatewayUrl}/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: `${username}-password-1` }),
  });
  assert.equal(r.status, 201);
  return (await r.json()).accessToken as string;
}

/** Places a BTC-USD order through the API and expects it taken (201). */
async function apiPlace(gatewayUrl: string, token: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${gatewayUrl}/v1/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ symbol: "BTC-USD", ...body }),
  });
  assert.equal(res.status, 201, await res.text());
}

/** Some seconds of two-sided trading around 65000 and a ladder of resting orders, for a picture. */
async function busyMarket(gatewayUrl: string, alice: string, bob: string): Promise<void> {
  const send = async (token: string, body: Record<string, unknown>) => {
    const res = await fetch(`${gatewayUrl}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ symbol: "BTC-USD", ...body }),
    });
    await res.body?.cancel();
  };
  let price = 65000;
  for (let i = 0; i < 40; i++) {
    price += Math.round((Math.sin(i / 3) * 6 + ((i * 37) % 11) - 5) * 100) / 100;
    const p = price.toFixed(2), qty = (0.01 + ((i * 7) % 5) / 100).toFixed(2);
    if (i % 2) {
      await send(alice, { side: "BUY", type: "LIMIT", price: p, qty });
      await send(bob, { side: "SELL", type: "MARKET", qty });
    } else {
      await send(bob, { side: "SELL", type: "LIMIT", price: p, qty });
      await send(alice, { side: "BUY", type: "MARKET", qty });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  for (let i = 1; i <= 12; i++) {
    await send(alice, {
      side: "BUY",
      type: "LIMIT",
      price: (price - i * 2.5).toFixed(2),
      qty: (0.02 * i).toFixed(2),
    });
    await send(bob, {
      side: "SELL",
      type: "LIMIT",
      price: (price + i * 2.5).toFixed(2),
      qty: (0.02 * i).toFixed(2),
    });
  }
}

/** Loads a page in a fresh tab and adds up the JavaScript it fetched (raw and gzip). */
async function measureJs(
  page: Page,
  url: string,
): Promise<{ files: number; bytes: number; gzipBytes: number }> {
  const bodies: Promise<Uint8Array>[] = [];
  const onResponse = (r: { url(): string; body(): Promise<Uint8Array> }) => {
    if (/\/static\/islands\/.+\.js$/.test(r.url())) bodies.push(r.body());
  };
  page.on("response", onResponse);
  await page.goto(url, { waitUntil: "networkidle" });
  // the chart loads uPlot after hydration
  await page.waitForTimeout(500);
  page.off("response", onResponse);
  let bytes = 0, gzipBytes = 0;
  for (const body of await Promise.all(bodies)) {
    bytes += body.byteLength;
    gzipBytes += await gzipSize(body);
  }
  return { files: bodies.length, bytes, gzipBytes };
}

Deno.test("web app in chromium: sign up, trade between two users, cancel, field errors, every page", async (t) => {
  await Deno.mkdir(SHOTS, { recursive: true });
  await using sys = await startSystem();
  await using browser = await launchBrowser();
  const web = sys.webUrl;
  const page = await browser.context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems: string[] = [];
  let staged504 = false;
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // 4xx answers are expected (the 404 page, the off-tick order), and the one 504 the retry step
    // stages; the page shows them itself
    const expected = /status of 4\d\d/.test(m.text()) || (staged504 && /status of 504/.test(m.text()));
    if (m.type() === "error" && !expected) problems.push(`console: ${m.text()}`);
  });
  const shot = async (name: string) => {
    // from the top, or the sticky header lands in the middle of a full-page picture
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  };

  try {
    await t.step("markets overview and the 404 page render on the server", async () => {
      await page.goto(`${web}/`);
      await page.locator('[data-symbol="BTC-USD"]').waitFor();
      assert.equal(await page.title(), "Markets · Kalency");
      assert.equal(await page.locator(".nav-admin").isVisible(), false, "no Admin link for visitors");
      await shot("markets");
      const res = await page.goto(`${web}/no-such-page`);
      assert.equal(res?.status(), 404);
      await page.getByRole("heading", { name: "Page not found" }).waitFor();
      await shot("not-found");
    });

    await t.step(
      "sign up: the hints describe their fields; an error takes the focus to its field",
      async () => {
        await page.goto(`${web}/signup`);
        await shot("signup");
        for (const [field, hint] of [["username", "3 to 32"], ["password", "At least 8"]]) {
          const id = await page.locator(`#auth-${field}`).getAttribute("aria-describedby");
          assert.match(await page.locator(`#${id}`).innerText(), new RegExp(hint));
        }
        await page.locator("#auth-username").fill("a");
        await page.locator("#auth-password").fill("password-123");
        await page.locator("#auth-password").press("Enter");
        await page.locator(".field:has(#auth-username) .field-error").waitFor();
        await page.waitForFunction(() => document.activeElement?.id === "auth-username");
      },
    );

    await t.step("sign up and see the wallet in the order form", async () => {
      await signUp(page, web, "alice", "/trade/BTC-USD");
      await page.locator(".navuser .who", { hasText: "alice" }).waitFor();
      // the Admin link is only for admins
      await page.locator(".nav-admin").waitFor({ state: "hidden" });
      // thousands grouped and the quote's places, as the wallet shows amounts
      await page.getByTestId("available").filter({ hasText: "100,000.00 USD" }).waitFor();
      // the price field starts with the tick's places
      assert.match(await page.locator("#of-price").inputValue(), /^\d+\.\d\d$/);
    });

    await t.step("an off-tick price shows the API's message next to the price field", async () => {
      await placeLimit(page, "Buy", "64000.001", "0.01");
      const error = page.locator(".field:has(#of-price) .field-error");
      await error.waitFor();
      assert.match(await error.innerText(), /not a multiple of the tick size 0\.01/);
      assert.equal(await page.locator("#of-price").getAttribute("aria-invalid"), "true");
      await shot("trade-field-error");
    });

    await t.step("a resting limit order shows in open orders and in the book", async () => {
      // sent with the keyboard: the focus stays on the button while the order is placed, and after
      await page.locator("#of-price").fill("65000");
      await page.locator("#of-qty").fill("0.01");
      await page.getByRole("button", { name: "Buy BTC" }).focus();
      await page.keyboard.press("Enter");
      await page.locator(".order-result[data-status=ACCEPTED]").waitFor();
      assert.equal(await focused(page), "Buy BTC");
      // the result describes that order: editing the next one clears it
      await page.locator("#of-qty").fill("0.02");
      await page.locator(".order-result").waitFor({ state: "detached" });
      await page.locator("#of-qty").fill("");
      // an empty amount is not sent: it is said at the field, which takes the focus
      const sentOrders: string[] = [];
      const countOrders = (r: { url(): string; method(): string }) => {
        if (r.method() === "POST" && r.url().endsWith("/v1/orders")) sentOrders.push(r.url());
      };
      page.on("request", countOrders);
      await page.getByRole("button", { name: "Buy BTC" }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("alert").filter({ hasText: "Enter an amount." }).waitFor();
      // the form moves the focus just after it shows the message (in the next task)
      await page.waitForFunction(() => document.activeElement?.id === "of-qty", undefined, { timeout: 2000 })
        .catch(() => {});
      assert.equal(await focused(page), "of-qty");
      page.off("request", countOrders);
      assert.deepEqual(sentOrders, []);
      // the total is rounded to the tick's places, not cut: 64999.99 x 0.0003 = 19.499997
      await page.locator("#of-price").fill("64999.99");
      await page.locator("#of-qty").fill("0.0003");
      await page.getByTestId("total").filter({ hasText: "19.50 USD" }).waitFor();
      await page.locator("#of-qty").fill("");
      const open = page.getByTestId("open-orders");
      await open.locator("tr", { hasText: "65000.00" }).filter({ hasText: "0.0100" }).waitFor();
      await page.locator(".levels.bids li", { hasText: "65000.00" }).filter({ hasText: "0.0100" }).waitFor();
    });

    await t.step("another order is cancelled from the open orders", async () => {
      await placeLimit(page, "Buy", "64000", "0.02");
      const row = page.getByTestId("open-orders").locator("tr", { hasText: "64000.00" });
      await row.waitFor();
      await page.locator(".levels.bids li", { hasText: "64000.00" }).waitFor();
      // the row goes with its button: the focus moves to the open order left (not to the page)
      await row.getByRole("button", { name: /^Cancel/ }).focus();
      await page.keyboard.press("Enter");
      await row.waitFor({ state: "detached" });
      await page.waitForFunction(() =>
        /^Cancel buy 0\.01\d* BTC-USD at 65000/.test(document.activeElement?.getAttribute("aria-label") ?? "")
      );
      await page.locator(".levels.bids li", { hasText: "64000.00" }).waitFor({ state: "detached" });
    });

    await t.step("a cancel whose order closes before its answer moves the focus and says so", async () => {
      await placeLimit(page, "Buy", "63000", "0.02");
      const row = page.getByTestId("open-orders").locator("tr", { hasText: "63000.00" });
      await row.waitFor();
      // the cancel reaches the engine (the orders channel removes the row at once), but its answer
      // comes 1.5 s later and says the order was gone: as when a fill closes it first
      const isCancel = (u: URL) => /^\/v1\/orders\/[^/]+$/.test(u.pathname);
      await page.route(isCancel, async (route) => {
        if (route.request().method() !== "DELETE") return await route.continue();
        await route.fetch();
        await new Promise((r) => setTimeout(r, 1500));
        await route.fulfill({
          status: 404,
          contentType: "application/problem+json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({ status: 404, code: "UNKNOWN_ORDER", detail: "order not found" }),
        });
      });
      try {
        await row.getByRole("button", { name: /^Cancel/ }).focus();
        await page.keyboard.press("Enter");
        await row.waitFor({ state: "detached" });
        // before the answer: the focus is on the open order left, not on the page
        await page.waitForFunction(() =>
          /^Cancel buy 0\.01\d* BTC-USD at 65000/.test(
            document.activeElement?.getAttribute("aria-label") ?? "",
          )
        );
        await page.getByRole("alert").filter({
          hasText: "closed (filled or cancelled) before the cancel reached it",
        })
          .waitFor();
        assert.match(await focused(page), /^Cancel buy 0\.01\d* BTC-USD at 65000/);
      } finally {
        await page.unroute(isCancel);
      }
    });

    await t.step("an order refused for a paused market keeps the focus on its button", async () => {
      const isPlace = (u: URL) => u.pathname === "/v1/orders";
      await page.route(isPlace, async (route) => {
        if (route.request().method() !== "POST") return await route.continue();
        await route.fulfill({
          status: 422,
          contentType: "application/problem+json",
          headers: { "access-control-allow-origin": "*" },
          body: JSON.stringify({
            type: "about:blank",
            title: "Unprocessable Content",
            status: 422,
            code: "MARKET_PAUSED",
            detail: "BTC-USD is paused",
          }),
        });
      });
      try {
        await page.locator("#of-price").fill("64000");
        await page.locator("#of-qty").fill("0.01");
        await page.getByRole("button", { name: "Buy BTC" }).focus();
        await page.keyboard.press("Enter");
        await page.getByRole("button", { name: "BTC-USD is paused" }).waitFor();
        // the submit button keeps the focus (its label may already read "Buy BTC" again: the market
        // poll can find BTC-USD trading at any moment after the refusal)
        const onSubmit = await page.evaluate(() =>
          document.activeElement ===
            document.querySelector("#of-qty")?.closest("form")?.querySelector("button[type=submit]")
        );
        assert.ok(onSubmit, `the focus is on ${await focused(page)}`);
      } finally {
        await page.unroute(isPlace);
      }
      // the market poll finds it trading
      await page.getByRole("button", { name: "Buy BTC" }).waitFor();
      await page.locator("#of-qty").fill("");
    });

    await t.step("sending an order again after the engine timed out cannot place it twice", async () => {
      const sent: string[] = [];
      let answered = 0;
      const isPlace = (u: URL) => u.pathname === "/v1/orders";
      await page.route(isPlace, async (route) => {
        if (route.request().method() !== "POST") return await route.continue();
        sent.push(JSON.parse(route.request().postData() ?? "{}").clientOrderId);
        // the first try: the gateway's answer when the engine does not reply in time
        if (answered++ === 0) {
          staged504 = true;
          return await route.fulfill({
            status: 504,
            contentType: "application/problem+json",
            headers: { "access-control-allow-origin": "*" },
            body: JSON.stringify({
              type: "about:blank",
              title: "Gateway Timeout",
              status: 504,
              code: "ENGINE_TIMEOUT",
              detail: "The matching engine did not answer within 5000 ms",
            }),
          });
        }
        await route.continue();
      });
      try {
        await placeLimit(page, "Buy", "63000", "0.01");
        const error = page.locator(".order-form .field-error[data-field=form]");
        await error.waitFor();
        assert.match(
          await error.innerText(),
          /did not confirm this order in time, so it may have been placed/,
        );
        assert.match(await error.innerText(), /will not be placed twice/);
        await page.getByRole("button", { name: "Buy BTC" }).click();
        await page.locator(".order-result[data-status=ACCEPTED]").waitFor();
        assert.equal(sent.length, 2);
        assert.equal(sent[1], sent[0], "the retry carries the first try's clientOrderId");
        // a new order after an answer gets an id of its own (post only: order history shows it)
        await page.locator("#of-price").fill("62000");
        await page.locator("#of-qty").fill("0.01");
        await page.getByRole("checkbox", { name: "Post only" }).check();
        await page.getByRole("button", { name: "Buy BTC" }).click();
        await page.getByTestId("open-orders").locator("tr", { hasText: "62000.00" }).waitFor();
        assert.equal(sent.length, 3);
        assert.notEqual(sent[2], sent[0]);
      } finally {
        await page.unroute(isPlace);
        staged504 = false;
      }
      for (const price of ["63000.00", "62000.00"]) {
        const row = page.getByTestId("open-orders").locator("tr", { hasText: price });
        await row.getByRole("button", { name: /^Cancel/ }).click();
        await row.waitFor({ state: "detached" });
      }
      await page.getByRole("checkbox", { name: "Post only" }).uncheck();
    });

    await t.step(
      "post only goes with GTC only; an expired order says why; presets need a plain price",
      async () => {
        await page.getByRole("radio", { name: "Buy", exact: true }).click();
        await page.getByRole("radio", { name: "Limit" }).click();
        await page.locator("#of-price").fill("59000");
        await page.locator("#of-qty").fill("1");
        await page.getByTestId("total").filter({ hasText: "59,000.00 USD" }).waitFor();
        const postOnly = page.getByRole("checkbox", { name: "Post only" });
        await postOnly.check();
        const tif = page.getByRole("combobox", { name: "Time in force" });
        await tif.selectOption("IOC");
        assert.equal(await postOnly.isChecked(), false, "post only shows unticked with IOC");
        assert.equal(await postOnly.isDisabled(), true);
        // nothing sells at 59000: the IOC order expires, and the form says why
        await page.locator("#of-qty").fill("0.001");
        await page.getByRole("button", { name: "Buy BTC" }).click();
        const result = page.locator(".order-result[data-status=EXPIRED]");
        await result.waitFor();
        assert.equal((await result.innerText()).trim(), "Order expired: no liquidity");
        assert.equal(await page.locator(".order-form .field-error").count(), 0);
        await tif.selectOption("GTC");
        assert.equal(await postOnly.isChecked(), false);
        await result.waitFor({ state: "detached" }); // the result described the IOC order, not this one
        // a price that is not a plain number: the presets say so at the price instead of failing
        const priceError = page.locator(".field:has(#of-price) .field-error");
        for (const price of ["64,000", "1e3", ".5", "65000.", "abc"]) {
          await page.locator("#of-price").fill(price);
          await page.getByRole("button", { name: "25%" }).click();
          await priceError.filter({ hasText: "plain number" }).waitFor();
        }
        await page.locator("#of-price").fill(" 65000 ");
        await page.locator("#of-qty").fill("");
        await page.getByRole("button", { name: "25%" }).click();
        await priceError.waitFor({ state: "detached" });
        assert.match(await page.locator("#of-qty").inputValue(), /^0\.\d+$/);
        await page.locator("#of-qty").fill("");
      },
    );

    const aliceSession = await page.evaluate(() => localStorage.getItem("kalency.session"));
    assert.ok(aliceSession);
    let bobSession: string | null = null;

    await t.step("log out revokes the refresh token; an ended session says so once", async () => {
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${web}/`);
      const { refreshToken } = JSON.parse(aliceSession!);
      const refused = await fetch(`${sys.gatewayUrl}/v1/auth/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken }),
      });
      await refused.body?.cancel();
      assert.equal(refused.status, 401, "the logged-out refresh token no longer works");
      // a session whose access token is due and whose refresh token is revoked ends with a notice
      await page.evaluate(
        (s) => localStorage.setItem("kalency.session", JSON.stringify({ ...JSON.parse(s), expiresAt: 0 })),
        aliceSession!,
      );
      await page.goto(`${web}/wallet`);
      await page.getByTestId("session-ended").filter({ hasText: "Your session ended; log in again." })
        .waitFor();
      await page.locator(".navuser").getByRole("link", { name: "Log in" }).waitFor();
      await page.reload();
      await page.locator(".navuser").getByRole("link", { name: "Log in" }).waitFor();
      assert.equal(await page.getByTestId("session-ended").count(), 0, "the notice shows once");
    });

    await t.step("a second user crosses it: the trade, the candle and the book update live", async () => {
      await signUp(page, web, "bob", "/trade/BTC-USD");
      await page.getByRole("radio", { name: "Sell", exact: true }).click();
      await page.getByRole("radio", { name: "Market" }).click();
      // the form estimates a market order from the book it shows, and warns when the book is too thin
      await page.locator("#of-qty").fill("5");
      await page.getByTestId("market-warning").filter({ hasText: "holds only" }).waitFor();
      // beyond the book shown there is no price to estimate from: no average, no total
      await page.getByTestId("market-estimate").filter({ hasText: "More than the book shown holds" })
        .waitFor();
      assert.equal((await page.getByTestId("total").innerText()).trim(), "—");
      await page.locator("#of-qty").fill("0.01");
      // a sell's worst price is its lowest
      await page.getByTestId("market-estimate").filter({ hasText: "≈ 65,000.00 average, down to 65,000.00" })
        .waitFor();
      await page.getByTestId("total").filter({ hasText: "650.00 USD" }).waitFor();
      assert.equal(await page.getByTestId("market-warning").count(), 0);
      // the first candle arrives live; the chart's view reaches past it, so it asks for older ones (to=)
      const older = page.waitForRequest((r) => /\/v1\/markets\/BTC-USD\/candles\?.*\bto=/.test(r.url()));
      await page.getByRole("button", { name: "Sell BTC" }).click();
      await page.locator(".order-result[data-status=FILLED]").waitFor();
      bobSession = await page.evaluate(() => localStorage.getItem("kalency.session"));
      await page.locator(".tape li", { hasText: "65000.00" }).filter({ hasText: "0.0100" }).waitFor();
      await page.locator(".levels.bids li", { hasText: "65000.00" }).waitFor({ state: "detached" });
      await page.getByTestId("last-price").filter({ hasText: "65,000.00" }).waitFor();
      // the forming candle: uPlot is drawn, and its legend shows the trade
      await page.locator('.chart-box[data-mounted="true"] canvas').waitFor();
      await page.locator(".chart-legend", { hasText: "C 65000.00" }).filter({ hasText: "V 0.0100" })
        .waitFor();
      await older;
      await shot("trade");
    });

    await t.step("the first paint has the data before any JavaScript runs", async () => {
      const bare = await browser.context.newPage();
      await bare.route("**/static/islands/*.js", (route) => route.abort());
      // a page rendered within MARKET_DATA_TTL_MS of the one before may show the market from before the trade
      await new Promise((r) => setTimeout(r, MARKET_DATA_TTL_MS));
      await bare.goto(`${web}/trade/BTC-USD`);
      await bare.getByTestId("last-price").filter({ hasText: "65,000.00" }).waitFor();
      await bare.locator(".tape li", { hasText: "65000.00" }).waitFor();
      await bare.locator(".candle-svg g").first().waitFor();
      await bare.screenshot({ path: `${SHOTS}/trade-without-javascript.png` });
      await bare.close();
    });

    await t.step("the order form is reachable with the keyboard", async () => {
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let reached = false;
      for (let i = 0; i < 120 && !reached; i++) {
        await page.keyboard.press("Tab");
        reached = await page.evaluate(() => document.activeElement?.id === "of-qty");
      }
      assert.ok(reached, "Tab reaches the amount field");
      await page.keyboard.type("0.5");
      assert.equal(await page.locator("#of-qty").inputValue(), "0.5");
      // side and type are radio groups: one Tab stop each, the arrow keys change the choice
      const side = page.getByRole("radiogroup", { name: "Side" });
      await side.getByRole("radio", { checked: true }).focus();
      const before = await side.getByRole("radio", { checked: true }).textContent();
      await page.keyboard.press("ArrowRight");
      const after = await side.getByRole("radio", { checked: true }).textContent();
      assert.notEqual(after, before);
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("aria-checked")), "true");
      assert.equal(await side.locator('[tabindex="0"]').count(), 1);
      await page.keyboard.press("ArrowLeft");
      // a refused order takes the focus to the field that needs fixing
      await page.getByRole("radio", { name: "Limit" }).click();
      await page.locator("#of-price").fill("64000.001");
      await page.locator("#of-qty").focus();
      await page.keyboard.press("Enter");
      await page.locator(".field:has(#of-price) .field-error").waitFor();
      await page.waitForFunction(() => document.activeElement?.id === "of-price");
      await page.locator("#of-price").fill("65000");
      await page.locator("#of-qty").fill("");
      await page.getByRole("radio", { name: "Market" }).click();
    });

    await t.step(
      "screen reader names and keys: book levels, chart, trades, order tabs, focus ring",
      async () => {
        await placeLimit(page, "Sell", "66000", "0.01");
        const ask = page.locator(".levels.asks li", { hasText: "66000.00" });
        await ask.waitFor();
        // a level is named by the figures it shows, with their words (no label that hides them)
        assert.equal(await page.locator(".levels button[aria-label], .tape button[aria-label]").count(), 0);
        await page.locator(".levels.asks").getByRole("button", { name: /^66000\.00 USD ask, ?0\.0100 BTC/ })
          .waitFor();
        // every reference points at something on the page (a tab's panel only when it is drawn)
        const dangling = await page.evaluate(() =>
          [...document.querySelectorAll("[aria-controls], [aria-describedby], [aria-labelledby]")].flatMap((
            el,
          ) =>
            ["aria-controls", "aria-describedby", "aria-labelledby"].flatMap((attr) =>
              (el.getAttribute(attr) ?? "").split(/\s+/).filter((id) => id && !document.getElementById(id))
                .map((id) => `${el.tagName} ${attr}=${id}`)
            )
          )
        );
        assert.deepEqual(dangling, []);
        assert.equal(await page.locator(".chart-box").getAttribute("role"), "application");
        await page.getByRole("list", { name: "Recent trades, newest first" }).waitFor();
        // the order tabs: one Tab stop, Left/Right/Home/End move between them
        const tabs = page.getByRole("tablist", { name: "Your orders" });
        assert.equal(await tabs.locator('[tabindex="0"]').count(), 1);
        await tabs.getByRole("tab", { name: /Open orders/ }).focus();
        for (
          const [key, id] of [["ArrowRight", "tab-history"], ["End", "tab-fills"], ["Home", "tab-open"], [
            "ArrowLeft",
            "tab-fills",
          ]]
        ) {
          await page.keyboard.press(key);
          assert.equal(await focused(page), id, key);
          assert.equal(await page.locator(`#${id}`).getAttribute("aria-selected"), "true", key);
        }
        await page.keyboard.press("Home");
        // the price box shows a focus ring around it
        await page.locator("#of-price").focus();
        const ring = await page.locator(".input-unit:has(#of-price)").evaluate((e) =>
          getComputedStyle(e).outlineStyle
        );
        assert.equal(ring, "solid");
        // the ask goes again (the wallets are checked later)
        const row = page.getByTestId("open-orders").locator("tr", { hasText: "66000.00" });
        await row.getByRole("button", { name: /^Cancel/ }).click();
        await row.waitFor({ state: "detached" });
        await page.getByRole("radio", { name: "Market" }).click();
      },
    );

    await t.step(
      "amounts like 1.0 are fine while typing; a pause and a resume show without a reload",
      async () => {
        await page.locator("#of-qty").fill("");
        await page.locator("#of-qty").pressSequentially("1.05");
        await page.getByTestId("available").waitFor();
        const login = await fetch(`${sys.gatewayUrl}/v1/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(ADMIN),
        });
        const { accessToken } = await login.json();
        const admin = (action: string) =>
          fetch(`${sys.gatewayUrl}/v1/admin/symbols/BTC-USD/${action}`, {
            method: "POST",
            headers: { authorization: `Bearer ${accessToken}` },
          }).then((r) => r.body?.cancel());
        const submit = page.locator('form button[type="submit"]').last();
        await admin("pause");
        await page.getByRole("button", { name: "BTC-USD is paused" }).waitFor();
        await page.getByTestId("market-status").filter({ hasText: "paused" }).waitFor();
        const pairTag = page.locator('.pairs a[href^="/trade/BTC-USD"] .tag');
        await pairTag.filter({ hasText: "paused" }).waitFor();
        await admin("resume");
        await page.getByRole("button", { name: /^(Buy|Sell) BTC$/ }).waitFor();
        await page.getByTestId("market-status").waitFor({ state: "detached" });
        await pairTag.waitFor({ state: "detached" });
        assert.equal(await submit.isDisabled(), false);
        await page.locator("#of-qty").fill("");
      },
    );

    await t.step(
      "the chart's legend follows a new timeframe; its two button groups are told apart",
      async () => {
        const maker = await apiSignUp(sys.gatewayUrl, "chart-maker");
        const taker = await apiSignUp(sys.gatewayUrl, "chart-taker");
        await apiPlace(sys.gatewayUrl, maker, { side: "SELL", type: "LIMIT", price: "65000", qty: "0.002" });
        await apiPlace(sys.gatewayUrl, taker, { side: "BUY", type: "MARKET", qty: "0.002" });
        // a second later the newest 1s bar is a flat one without volume
        await page.waitForTimeout(1500);
        await page.goto(`${web}/trade/BTC-USD?tf=1s`);
        const legend = page.locator(".chart-legend");
        await page.locator('.chart-box[data-mounted="true"] canvas').waitFor();
        await legend.filter({ hasText: "V 0.0000" }).waitFor();
        const bars = page.getByRole("group", { name: "Bar size" });
        const ranges = page.getByRole("group", { name: "Range" });
        await page.getByText("Bar size", { exact: true }).waitFor();
        assert.equal(await ranges.getByRole("button", { name: "Last 1h" }).count(), 1);
        const candles = page.waitForResponse((r) => /\/candles\?tf=1h/.test(r.url()));
        await bars.getByRole("link", { name: "1h bars" }).click();
        const hour = await (await candles).json() as { volume: string }[];
        const volume = Number(hour.at(-1)!.volume).toFixed(4);
        assert.notEqual(volume, "0.0000");
        await legend.filter({ hasText: `V ${volume}` }).waitFor();
        assert.equal(await bars.getByRole("link", { name: "1h bars" }).getAttribute("aria-current"), "true");
      },
    );

    await t.step("trades made while the page's scripts load still reach the tape", async () => {
      const maker = await apiSignUp(sys.gatewayUrl, "tape-maker");
      const taker = await apiSignUp(sys.gatewayUrl, "tape-taker");
      // a slow connection: the islands' scripts arrive after the trade
      let release = () => {};
      const held = new Promise<void>((r) => release = r);
      const islands = /\/static\/islands\/.+\.js$/;
      await page.route(islands, async (route) => {
        await held;
        await route.continue();
      });
      try {
        await page.goto(`${web}/trade/BTC-USD?tf=1s`, { waitUntil: "commit" });
        await page.locator(".tape").waitFor({ state: "attached" });
        // past the server's market data cache: the rendered page cannot have this trade
        await page.waitForTimeout(MARKET_DATA_TTL_MS + 200);
        await apiPlace(sys.gatewayUrl, maker, { side: "SELL", type: "LIMIT", price: "65000", qty: "0.0037" });
        await apiPlace(sys.gatewayUrl, taker, { side: "BUY", type: "MARKET", qty: "0.0037" });
        // the market order's fills: the newest trades (other resting asks may fill it first)
        const recent = await (await fetch(`${sys.gatewayUrl}/v1/markets/BTC-USD/trades?limit=10`))
          .json() as { tradeId: string; takerOrderId: string; takerUserId: string }[];
        const me =
          await (await fetch(`${sys.gatewayUrl}/v1/me`, { headers: { authorization: `Bearer ${taker}` } }))
            .json() as { userId: string };
        const fills = recent.filter((tr) => tr.takerUserId === me.userId).map((tr) => tr.tradeId);
        assert.ok(fills.length > 0);
        await page.waitForTimeout(500);
        release();
        await page.locator('.chart-box[data-mounted="true"] canvas').waitFor();
        for (const id of fills) {
          await page.locator(`.tape li[data-trade-id="${id}"]`).waitFor({ state: "attached" });
        }
      } finally {
        release();
        await page.unroute(islands);
      }
    });

    await t.step("both wallets show the trade", async () => {
      await page.goto(`${web}/wallet`);
      const bal = page.getByTestId("balances");
      await bal.locator('tr[data-asset="BTC"] [data-testid=free][data-value="1.99"]').waitFor();
      await bal.locator('tr[data-asset="USD"] [data-testid=free][data-value="100650"]').waitFor();
      // each row keeps its own places: BTC's 1.99 does not give USD two decimals
      assert.equal(
        (await bal.locator('tr[data-asset="USD"] [data-testid=free]').textContent())?.trim(),
        "100,650",
      );
      await page.evaluate((s) => localStorage.setItem("kalency.session", s), aliceSession);
      await page.reload();
      await bal.locator('tr[data-asset="BTC"] [data-testid=free][data-value="2.01"]').waitFor();
      await bal.locator('tr[data-asset="USD"] [data-testid=free][data-value="99350"]').waitFor();
      await bal.locator('tr[data-asset="USD"] [data-testid=locked][data-value="0"]').waitFor();
      // the history, from the ledger after the reload: the fill's legs, as the live rows call them
      const history = page.getByTestId("postings");
      await history.locator("tr", { hasText: "USD" }).filter({ hasText: "-650" }).filter({ hasText: "trade" })
        .first().waitFor();
      await history.locator("tr", { hasText: "BTC" }).filter({ hasText: "+0.01" }).filter({
        hasText: "trade",
      })
        .first().waitFor();
      await shot("wallet");
    });

    await t.step("order history lists the fill and the cancel", async () => {
      await page.goto(`${web}/orders`);
      await page.getByRole("tab", { name: "Order history" }).click();
      const history = page.getByTestId("order-history");
      const filled = history.locator("tr", { hasText: "65000.00" }).filter({ hasText: "filled" });
      await filled.getByRole("button", { name: /1 fill/ }).click();
      await history.locator(".fills-row", { hasText: "65000.00" }).filter({ hasText: "maker" }).waitFor();
      await history.locator("tr", { hasText: "64000.00" }).filter({ hasText: "canceled" }).waitFor();
      await history.locator("tr", { hasText: "62000.00" }).filter({ hasText: "limit · GTC · post" })
        .waitFor();
      await shot("orders");
      // the fills tab offers older fills only when the newest page is full (200); here it holds one
      await page.getByRole("tab", { name: "Fills" }).click();
      await page.getByTestId("fills").locator("tr", { hasText: "65000.00" }).filter({ hasText: "maker" })
        .waitFor();
      assert.equal(await page.getByRole("button", { name: "Older fills" }).count(), 0);
      assert.equal(await page.locator(".my-orders .field-error").count(), 0);
      await shot("orders-fills");
    });

    await t.step("cancel all clears the open orders after a confirmation", async () => {
      const token = await page.evaluate(() =>
        JSON.parse(localStorage.getItem("kalency.session")!).accessToken
      );
      for (const price of ["60000", "60001"]) {
        const r = await fetch(`${sys.gatewayUrl}/v1/orders`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ symbol: "BTC-USD", side: "BUY", type: "LIMIT", price, qty: "0.001" }),
        });
        assert.equal(r.status, 201, await r.text());
      }
      await page.goto(`${web}/orders`);
      const open = page.getByTestId("open-orders");
      await open.locator("tr", { hasText: "60001.00" }).waitFor();
      page.once("dialog", (d) => void d.accept());
      await page.getByTestId("cancel-all").focus();
      await page.keyboard.press("Enter");
      await open.locator("tr", { hasText: "No open orders" }).waitFor();
      // the button went with the orders: the focus is on the open orders' tab, not lost
      await page.waitForFunction(() => document.activeElement?.id === "tab-open");
      await page.getByRole("tab", { name: "Order history" }).click();
      await page.getByTestId("order-history").locator("tr", { hasText: "60001.00" }).filter({
        hasText: "canceled",
      })
        .waitFor();
    });

    await t.step(
      "the fills tab pages back past its first 200 fills, and keeps them as trades go on",
      async () => {
        const signup = async (username: string) => {
          const r = await fetch(`${sys.gatewayUrl}/v1/auth/signup`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username, password: "pager-password-1" }),
          });
          assert.equal(r.status, 201);
          return await r.json();
        };
        const [maker, taker] = [await signup("pager-maker"), await signup("pager-taker")];
        const trade = async () => {
          for (
            const [who, body] of [
              [maker, { side: "SELL", type: "LIMIT", price: "65000", qty: "0.001" }],
              [taker, { side: "BUY", type: "MARKET", qty: "0.001" }],
            ] as const
          ) {
            const res = await fetch(`${sys.gatewayUrl}/v1/orders`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${who.accessToken}` },
              body: JSON.stringify({ symbol: "BTC-USD", ...body }),
            });
            assert.equal(res.status, 201, await res.text());
          }
        };
        for (let i = 0; i < 205; i++) await trade();
        const session = { ...taker, expiresAt: Date.now() + taker.expiresIn * 1000 };
        await page.evaluate((s) => localStorage.setItem("kalency.session", s), JSON.stringify(session));
        await page.goto(`${web}/orders`);
        await page.getByRole("tab", { name: "Fills" }).click();
        const rows = page.getByTestId("fills").locator("tr[data-trade-id]");
        await page.waitForFunction(() =>
          document.querySelectorAll("[data-testid=fills] tr[data-trade-id]").length === 200
        );
        await page.getByRole("button", { name: "Older fills" }).click();
        await page.getByRole("status").filter({ hasText: "No older fills" }).waitFor();
        assert.equal(await rows.count(), 205);
        // three more trades: the newest page is fetched again, and no fill falls out of the list
        for (let i = 0; i < 3; i++) await trade();
        await page.waitForFunction(() =>
          document.querySelectorAll("[data-testid=fills] tr[data-trade-id]").length === 208
        );
        const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-trade-id")));
        assert.equal(new Set(shown).size, 208, "each fill once");
        // the order history pages back the same way: 208 market orders, 200 a page (203 shown: the
        // newest page came again after each of the three trades, and the older orders stayed)
        await page.getByRole("tab", { name: "Order history" }).click();
        const orderRows = "[data-testid=order-history] tr[data-order-id]";
        await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 203, orderRows);
        await page.getByRole("button", { name: "Older orders" }).click();
        await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 208, orderRows);
        assert.equal(await page.getByRole("button", { name: "Older orders" }).count(), 0);
        await page.evaluate((s) => localStorage.setItem("kalency.session", s), aliceSession);
      },
    );

    await t.step("an API key is shown once and can be revoked", async () => {
      await page.goto(`${web}/api-keys`);
      await page.locator("#key-label").fill("test bot");
      await page.getByRole("button", { name: "Create key" }).focus();
      await page.keyboard.press("Enter");
      const secret = page.getByTestId("new-secret");
      await secret.waitFor();
      // the button reads "Creating…" until the render after the secret's: wait for its label
      await page.waitForFunction(() => document.activeElement?.textContent?.trim() === "Create key");
      assert.ok((await secret.locator(".secret-value").innerText()).length >= 20);
      const row = page.getByTestId("api-keys").locator("tr", { hasText: "test bot" });
      await row.waitFor();
      await shot("api-keys");
      page.once("dialog", (d) => d.accept());
      await row.getByRole("button", { name: /Revoke/ }).focus();
      await page.keyboard.press("Enter");
      await row.waitFor({ state: "detached" });
      // the last key's row is gone: the focus goes to the label of the next key
      await page.waitForFunction(() => document.activeElement?.id === "key-label");
    });

    await t.step("the admin page shows the system status to an admin", async () => {
      await page.getByRole("button", { name: "Log out" }).click();
      await page.waitForURL(`${web}/`);
      await page.goto(`${web}/login?next=/admin`);
      await shot("login");
      await page.locator("#auth-username").fill(ADMIN.username);
      await page.locator("#auth-password").fill("not-the-password");
      await page.getByRole("button", { name: "Log in" }).click();
      await page.locator(".auth-form .field-error").filter({ hasText: "Wrong username or password." })
        .waitFor();
      await page.locator("#auth-username").fill(ADMIN.username);
      await page.locator("#auth-password").fill(ADMIN.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.waitForURL(`${web}/admin`);
      await page.locator(".nav-admin").waitFor({ state: "visible" });
      await page.getByTestId("health").locator("tr", { hasText: "ok" }).first().waitFor();
      await page.getByTestId("metrics").locator("tr", { hasText: "stream_lag" }).first().waitFor();
      await page.locator('[data-symbol="BTC-USD"]').waitFor();
      const figures = page.getByTestId("key-figures");
      await figures.getByText("Trades/s").waitFor();
      // the second poll turns entry counts into rates
      await page.waitForFunction(() =>
        /\d/.test(
          document.querySelector('[data-testid="key-figures"] div:nth-child(1) dd')?.textContent ?? "",
        )
      );
      const bots = page.getByRole("form", { name: "Bots" });
      await bots.getByLabel("Count").fill("3");
      await bots.getByRole("button", { name: "Set" }).click();
      await page.getByRole("status").filter({ hasText: "Bots: done" }).waitFor();
      // no simulator runs here: a control is sent, and the page says it was not confirmed
      await page.getByRole("button", { name: "Stop", exact: true }).focus();
      await page.keyboard.press("Enter");
      await page.getByRole("status").filter({ hasText: "Stop: sent, but the simulator has not shown it" })
        .waitFor({ timeout: 15_000 });
      assert.equal(await focused(page), "Stop", "the focus stays on the button while it waits");
      await shot("admin");
    });

    await t.step("the colour-blind palette persists", async () => {
      await page.getByRole("button", { name: "Colour-blind-safe colours" }).click();
      await page.goto(`${web}/trade/BTC-USD`);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.palette), "cb");
    });

    await t.step("every page fits a phone's width", async () => {
      const phone = await browser.context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      for (const path of ["/", "/trade/BTC-USD", "/wallet", "/orders", "/api-keys", "/admin"]) {
        await phone.goto(`${web}${path}`, { waitUntil: "networkidle" });
        const width = await phone.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `${path} is ${width} px wide on a 390 px screen`);
      }
      await phone.goto(`${web}/trade/BTC-USD`, { waitUntil: "networkidle" });
      await phone.screenshot({ path: `${SHOTS}/trade-phone.png`, fullPage: true });
      await phone.close();
    });

    await t.step("JavaScript per page", async () => {
      const measured: Record<string, { files: number; bytes: number; gzipBytes: number }> = {};
      const tab = await browser.context.newPage();
      for (const path of ["/", "/trade/BTC-USD", "/wallet", "/orders", "/api-keys", "/admin", "/login"]) {
        measured[path] = await measureJs(tab, `${web}${path}`);
      }
      await tab.close();
      await Deno.writeTextFile(`${ROOT}test-results/js-size.json`, JSON.stringify(measured, null, 2) + "\n");
      assert.ok(
        measured["/trade/BTC-USD"].gzipBytes < 120 * 1024,
        JSON.stringify(measured["/trade/BTC-USD"]),
      );
    });

    if (Deno.env.get("KALENCY_WEB_README_SHOT")) {
      await t.step("the README's picture of a busier trade page", async () => {
        await busyMarket(
          sys.gatewayUrl,
          JSON.parse(aliceSession!).accessToken,
          JSON.parse(bobSession!).accessToken,
        );
        await page.evaluate((s) => {
          localStorage.setItem("kalency.session", s);
          localStorage.removeItem("kalency.palette");
        }, aliceSession);
        await page.setViewportSize({ width: 1440, height: 900 });
        await page.goto(`${web}/trade/BTC-USD?tf=1s`, { waitUntil: "networkidle" });
        await page.locator('.chart-box[data-mounted="true"] canvas').waitFor();
        await page.waitForTimeout(800);
        await Deno.mkdir(`${ROOT}docs/img`, { recursive: true });
        await page.screenshot({ path: `${ROOT}docs/img/trade-page.png` });
      });
    }

    assert.deepEqual(problems, [], "no page errors and no console errors");
  } catch (e) {
    await shot("failure").catch(() => {});
    throw new Error(`${(e as Error).message}\n\nprocess logs:\n${sys.logs()}`, { cause: e });
  }
});
