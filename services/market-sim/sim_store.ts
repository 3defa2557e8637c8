/**
 * The simulator's Redis adapter: the engine's read models it reads (markets, wallets, recent trades),
 * the streams it writes (ticks, bot commands), the control stream it replays, and its status key.
 * @module
 */
import {
  type EngineCommandInput,
  Execution,
  keys,
  MarketSpec,
  type SimControl,
  streamKey,
  STREAMS,
  type Tick,
  WalletView,
} from "@lib/contracts";
import { decodeEntry, publishBatch, type RawEntry, type RedisClient } from "@lib/redis";

/** Key of the status document the gateway's admin status route reads. */
export function statusKey(prefix: string): string {
  return keys.simStatus(prefix);
}

/** Counter of simulator runs on a prefix (each run's ids carry its number). */
export function runsKey(prefix: string): string {
  return `${prefix}:sim:runs`;
}

function parseJson<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  text: string,
): T | undefined {
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export class SimStore {
  constructor(readonly redis: RedisClient, readonly prefix: string) {}

  /** The engine's markets (symbol -> spec); entries that do not parse are left out. */
  async markets(): Promise<Map<string, MarketSpec>> {
    const all = await this.redis.hGetAll(keys.markets(this.prefix));
    const out = new Map<string, MarketSpec>();
    for (const [symbol, json] of Object.entries(all)) {
      const spec = parseJson<MarketSpec>(MarketSpec, String(json));
      if (spec) out.set(symbol, spec);
    }
    return out;
  }

  /** The last trade price of each symbol that has traded (from the engine's recent-trades list). */
  async lastTradePrices(symbols: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (symbols.length === 0) return out;
    const multi = this.redis.multi();
    for (const s of symbols) multi.lIndex(keys.trades(this.prefix, s), 0);
    const rows = (await multi.execAsPipeline()) as unknown as (string | null)[];
    rows.forEach((json, i) => {
      const trade = json ? parseJson<Execution>(Execution, json) : undefined;
      if (trade) out.set(symbols[i], trade.price);
    });
    return out;
  }

  /** Wallet views of some users (missing or unreadable ones are left out). */
  async wallets(userIds: string[]): Promise<WalletView[]> {
    if (userIds.length === 0) return [];
    const rows = await this.redis.hmGet(keys.wallets(this.prefix), userIds);
    const out: WalletView[] = [];
    for (const json of rows) {
      const w = json ? parseJson<WalletView>(WalletView, json) : undefined;
      if (w) out.push(w);
    }
    return out;
  }

  async writeStatus(status: unknown): Promise<void> {
    await this.redis.set(statusKey(this.prefix), JSON.stringify(status));
  }

  /** A tag unique to this run on this prefix: r1, r2, ... (a fresh prefix always starts at r1). */
  async nextRunTag(): Promise<string> {
    return `r${await this.redis.incr(runsKey(this.prefix))}`;
  }

  /** Publishes one step's ticks and commands (two pipelines, sent together). */
  async publish(ticks: Tick[], commands: EngineCommandInput[], ticksMaxLen: number): Promise<void> {
    await Promise.all([
      publishBatch(this.redis, this.prefix, STREAMS.ticks, ticks, { maxLen: ticksMaxLen }),
      publishBatch(this.redis, this.prefix, STREAMS.orders, commands),
    ]);
  }

  /** Every control in the stream so far, in order; entries that do not decode come back as `bad`. */
  async readControls(pageSize = 1000): Promise<{
    controls: { id: string; control: SimControl }[];
    bad: { entry: RawEntry; reason: string }[];
    lastId?: string;
  }> {
    const key = streamKey(this.prefix, STREAMS.simControl);
    const controls: { id: string; control: SimControl }[] = [];
    const bad: { entry: RawEntry; reason: string }[] = [];
    let start = "-";
    let lastId: string | undefined;
    for (;;) {
      const page = (await this.redis.xRange(key, start, "+", { COUNT: pageSize })) as unknown as RawEntry[];
      for (const entry of page) {
        lastId = entry.id;
        const d = decodeEntry(STREAMS.simControl, entry);
        if (d.ok) controls.push({ id: entry.id, control: d.value });
        else bad.push({ entry, reason: d.reason });
      }
      if (page.length < pageSize) break;
      start = `(${page[page.length - 1].id}`;
    }
    return { controls, bad, lastId };
  }
}
