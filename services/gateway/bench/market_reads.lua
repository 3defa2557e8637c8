-- Public market data, rotating over book, trades, tickers, markets and one ticker.
local paths = {
  "/v1/markets/BTC-USD/book",
  "/v1/markets/BTC-USD/trades?limit=50",
  "/v1/tickers",
  "/v1/markets/ETH-USD/book?depth=10",
  "/v1/markets",
}
local n = 0

function request()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
