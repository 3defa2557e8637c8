-- POST /v1/orders, alternating a BUY and a SELL that cross at one price (self-trade allowed), so the
-- book stays small and balances stay level however long the run. TOKENS: comma-separated tokens.
local tokens = {}
for t in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do tokens[#tokens + 1] = t end
local symbol = os.getenv("SYMBOL") or "BTC-USD"
local price = os.getenv("PRICE") or "65000"
local qty = os.getenv("QTY") or "0.0001"
local bodies = {}
for _, side in ipairs({ "BUY", "SELL" }) do
  bodies[#bodies + 1] = string.format(
    '{"symbol":"%s","side":"%s","type":"LIMIT","price":"%s","qty":"%s","stp":"NONE"}', symbol, side, price, qty)
end
local n = 0
local thread_offset = 0

function setup(thread)
  thread_offset = thread_offset + 1
  thread:set("offset", thread_offset)
end

function init()
  n = (offset or 0) * 7919
end

function request()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
  }
  -- each user alternates sides (n // #tokens), so nobody runs out of either asset
  return wrk.format("POST", "/v1/orders", headers, bodies[(math.floor(n / #tokens) % 2) + 1])
end

function done(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests":%d,"durationUs":%d,"non2xx":%d,"socketErrors":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
