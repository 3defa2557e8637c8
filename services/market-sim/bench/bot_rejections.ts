/**
 * How often the engine rejects the bots' commands: runs the real matching engine (a child process)
 * and the simulator loop with the default bot population on a throwaway prefix for a bounded time,
 * then counts the engine's replies to the bots by bot kind and reason, per minute.
 *
 *   deno task bench:sim-rejections [--seconds 60] [--interval 250] [--seed kalency] [--port 19500]
 *                                  [--start-balances USD=5000,BTC=0.1,ETH=2]
 *
 * `--start-balances` sets what the engine credits each new account (KALENCY_START_BALANCES): small
 * balances put the bots where a long run leaves them, short of one asset.
 * Bots get their accounts from the engine's `openAccount` (the gateway's sign-up does the same), so
 * no gateway or database is needed. The prefix is deleted afterwards, also on Ctrl-C or SIGTERM.
 */
import { parseArgs } from "node:util";
import { keys, streamKey, STREAMS } from "@lib/contracts";
import { createLogger } from "@lib/log";
import { Registry } from "@lib/metrics";
import { connectRedis, decodeEntry, readRange } from "@lib/redis";
import { deletePrefixOnCleanup, TEST_REDIS_URL, uniquePrefix, waitFor, withCleanup } from "@lib/testing";
import { DEFAULT_POPULATION, KIND_TAG } from "../bots.ts";
import { REPLY_STREAM, startMarketSim } from "../runner.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "60" },
    interval: { type: "string", default: "250" },
    seed: { type: "string", default: "kalency" },
    port: { type: "string", default: "19500" },
    "start-balances": { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const REDIS_URL = Deno.env.get("REDIS_URL") ?? TEST_REDIS_URL;
const ENGINE_MAIN = new URL("../../matching-engine/main.ts", import.meta.url);
const KIND_OF_TAG = new Map(Object.entries(KIND_TAG).map(([kind, tag]) => [tag, kind]));

/** The bot kind of a command id `r1.mm2.42`. */
function kindOf(cmdId: string): string {
  return KIND_OF_TAG.get(cmdId.split(".")[1]?.replace(/\d+$/, "") ?? "") ?? "other";
}

await withCleanup(async (cleanup) => {
  const prefix = uniquePrefix("simreject");
  const deleteKeys = deletePrefixOnCleanup(cleanup, prefix, REDIS_URL);
  const engine = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ENGINE_MAIN.pathname],
    env: {
      REDIS_URL,
      KALENCY_PREFIX: prefix,
      KALENCY_ENGINE_PORT: values.port,
      LOG_LEVEL: "error",
      LOG_FORMAT: "json",
      ...(values["start-balances"] ? { KALENCY_START_BALANCES: values["start-balances"] } : {}),
    },
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const stopEngine = cleanup.add("engine", async () => {
    try {
      engine.kill("SIGTERM");
    } catch { /* exited */ }
    await engine.status;
  });
  const redis = await connectRedis(REDIS_URL);
  const controlReader = await connectRedis(REDIS_URL);
  const replyReader = await connectRedis(REDIS_URL);
  const closeConnections = cleanup.add(
    "redis connections",
    () => Promise.all([redis.close(), controlReader.close(), replyReader.close()]),
  );
  await waitFor(async () => (await redis.hLen(keys.markets(prefix))) > 0, {
    what: "the engine's markets",
    timeoutMs: 30_000,
  });

  const registry = new Registry();
  const sim = await startMarketSim({
    redis,
    controlReader,
    replyReader,
    prefix,
    accounts: { userIdFor: (u) => Promise.resolve(`bench-${u}`) },
    log: createLogger("sim-rejections", { level: "error" }),
    registry,
  }, {
    seed: values.seed,
    intervalMs: Number(values.interval),
    profile: "normal",
    bots: DEFAULT_POPULATION,
    startRunning: true,
  });
  const stopSim = cleanup.add("simulator", () => sim.stop());
  const started = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const minutes = (performance.now() - started) / 60_000;
  await stopSim();

  const sent = new Map<string, number>();
  for (const e of await readRange(redis, streamKey(prefix, STREAMS.orders), "-")) {
    const d = decodeEntry(STREAMS.orders, e);
    if (!d.ok) continue;
    const k = `${kindOf(d.value.cmdId)} ${d.value.type}`;
    sent.set(k, (sent.get(k) ?? 0) + 1);
  }
  const rejected = new Map<string, number>();
  for (const e of await readRange(redis, streamKey(prefix, REPLY_STREAM), "-")) {
    const d = decodeEntry(REPLY_STREAM, e);
    if (!d.ok || d.value.ok) continue;
    const k = `${kindOf(d.value.cmdId)} ${d.value.reason}`;
    rejected.set(k, (rejected.get(k) ?? 0) + 1);
  }
  const rate = (n: number) => (n / minutes).toFixed(1);
  console.log(
    `${(minutes * 60).toFixed(0)} s, seed ${values.seed}, interval ${values.interval} ms, start balances ${
      values["start-balances"] ?? "the engine's"
    }`,
  );
  console.log("commands sent (kind type: count, per minute)");
  for (const [k, n] of [...sent].sort()) console.log(`  ${k}: ${n}, ${rate(n)}/min`);
  console.log("rejections (kind reason: count, per minute)");
  if (rejected.size === 0) console.log("  none");
  for (const [k, n] of [...rejected].sort()) console.log(`  ${k}: ${n}, ${rate(n)}/min`);
  await closeConnections();
  await stopEngine();
  await deleteKeys();
});
