import assert from "node:assert/strict";
import { buildIslands, listIslands, pageWeight } from "./build.ts";

/** The islands of the trade page (routes/trade/[symbol].tsx and the layout). */
export const TRADE_PAGE_ISLANDS = [
  "NavUser",
  "PairsSidebar",
  "MarketHeader",
  "CandleChart",
  "OrderBook",
  "TradesTape",
  "OrderForm",
  "MyOrders",
];
/** The budget for the trade page's JavaScript, gzip. */
const TRADE_PAGE_BUDGET = 120 * 1024;

// esbuild's service process exits asynchronously after esbuild.stop(), which the op and resource
// sanitizers can catch mid-exit on a busy machine
Deno.test({
  name: "buildIslands() writes one hydrating entry per island, shared chunks and a manifest",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const outDir = await Deno.makeTempDir({ prefix: "kalency-build-test-" });
  try {
    const { manifest, files } = await buildIslands({ outDir });
    assert.deepEqual(Object.keys(manifest.islands).sort(), listIslands());
    const names = new Set(files.map((f) => f.file));
    for (const [name, entry] of Object.entries(manifest.islands)) {
      assert.match(entry.file, new RegExp(`^${name}-[A-Z0-9]{8}\\.js$`));
      for (const f of [entry.file, ...entry.imports, ...(entry.lazy ?? [])]) assert.ok(names.has(f), f);
      const code = await Deno.readTextFile(`${outDir}/${entry.file}`);
      assert.ok(code.includes(`[data-island="${name}"]`), `${name} finds its markers`);
      assert.ok(code.includes("dataset.props"), `${name} reads its props`);
    }
    // preact lives in a chunk every island shares, not in each entry
    const shared = manifest.islands.NavUser.imports.filter((c) =>
      manifest.islands.OrderBook.imports.includes(c)
    );
    assert.ok(shared.length > 0);
    // uPlot is loaded on demand by the chart only
    assert.ok(manifest.islands.CandleChart.lazy?.length, "the chart loads uPlot lazily");
    assert.equal(manifest.islands.MarketsTable.lazy, undefined);
    assert.ok(names.has("uPlot.min.css"));

    const trade = await pageWeight(outDir, manifest, TRADE_PAGE_ISLANDS);
    assert.ok(
      trade.gzipBytes < TRADE_PAGE_BUDGET,
      `the trade page loads ${trade.gzipBytes} bytes of gzip JavaScript, over the ${TRADE_PAGE_BUDGET} budget`,
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
