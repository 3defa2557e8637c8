import assert from "node:assert/strict";
import { dbFixture, redisFixture } from "@lib/testing";
import { jsonLines, tools } from "../test_util.ts";

const available = (() => {
  try {
    Deno.statSync(new URL("../sim_report.ts", import.meta.url));
    return true;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "sim-report runs the simulator's report through the CLI, as text and as JSON",
  ignore: !available,
  async fn() {
    await using fx = await redisFixture("simrep");
    await using db = await dbFixture();
    const opts = { prefix: fx.prefix, databaseUrl: db.url };
    const text = await tools(["sim-report", "--symbol", "btc-usd", "--minutes", "1"], opts);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Stylized facts of BTC-USD over the last 1 min: 0 trades/);
    const json = await tools(["sim-report", "--symbol", "BTC-USD", "--minutes", "1", "--json"], opts);
    assert.equal(json.code, 0, json.stderr);
    const [report] = jsonLines(json.stdout);
    assert.equal(report.symbol, "BTC-USD");
    assert.equal(report.trades, 0);
  },
});

Deno.test("sim-report checks its options before anything else", async () => {
  const r = await tools(["sim-report", "--symbol", "bitcoin"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--symbol must be BASE-QUOTE, e\.g\. BTC-USD, got "BITCOIN"/);
  const none = await tools(["sim-report"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /sim-report needs --symbol, e\.g\. --symbol BTC-USD/);
  const m = await tools(["sim-report", "--symbol", "BTC-USD", "--minutes", "0"]);
  assert.equal(m.code, 2);
  assert.match(m.stderr, /--minutes must be a whole number from 1/);
});
