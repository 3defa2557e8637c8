/**
 * Reconciliation of the streams, the ledger and the engine's read models:
 *
 * 1. trades: every execution in the stream is in `trade_ledger` once, and the ledger holds no trade
 *    the stream does not (within the part of the stream still kept);
 * 2. postings: the postings sum to zero per asset (and per funding reference);
 * 3. balances: each user's free + locked in the engine's wallets read model equals the sum of their
 *    postings, for every asset;
 * 4. candles: each minute's 1m trade candle (volume, trade count) equals the ledger's trades in it.
 *
 * `runVerify()` returns a report listing every difference with where it is; run this file directly
 * (or `deno task tools verify`) to print it; the exit code is 1 when anything differs.
 * @module
 */
import { DEFAULT_DATABASE_URL, DEFAULT_PREFIX, DEFAULT_REDIS_URL } from "@lib/config";
import { InterruptedError } from "./command.ts";
import { fromScaled, readCandles, toScaled } from "@lib/candles";
import { keys, streamKey, STREAMS, WalletView } from "@lib/contracts";
import { connectDb, type Sql } from "@lib/db";
import { balancesFromPostings, EXTERNAL_ACCOUNT } from "@lib/ledger";
import {
  compareStreamIds,
  connectRedis,
  decodeEntry,
  expandEntries,
  groupLag,
  type RawEntry,
  type RedisClient,
} from "@lib/redis";

export interface VerifyOptions {
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
  /** Stops between pages (the CLI's Ctrl-C). */
  signal?: AbortSignal;
  /** At most this many differences are listed per check (all are counted). @default {200} */
  maxListed?: number;
}

export type CheckName = "trades" | "postings" | "balances" | "candles";

/** One thing that does not match. */
export interface Difference {
  check: CheckName;
  /** Which user/asset, trade, or symbol/minute. */
  where: string;
  /** What the reference side says (stream, engine, ledger). */
  expected: string;
  actual: string;
}

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  /** How many items were compared. */
  compared: number;
  differences: number;
  /** What was compared against what. */
  summary: string;
}

export interface VerifyReport {
  ok: boolean;
  prefix: string;
  at: string;
  checks: CheckResult[];
  /** Listed differences (at most `maxListed` per check). */
  differences: Difference[];
  /** Consumer groups still behind: differences may only mean "not written yet". */
  lag: Record<string, { lag: number; pending: number }>;
}

function norm(amount: string): string {
  return fromScaled(toScaled(amount));
}

class Collector {
  readonly listed: Difference[] = [];
  readonly counts = new Map<CheckName, number>();
  constructor(readonly max: number) {}
  add(d: Difference): void {
    const n = (this.counts.get(d.check) ?? 0) + 1;
    this.counts.set(d.check, n);
    if (n <= this.max) this.listed.push(d);
  }
  count(check: CheckName): number {
    return this.counts.get(check) ?? 0;
  }
}

const PAGE = 5000;

/** Stream vs trade_ledger: every trade of the (kept part of the) stream once, nothing extra. */
async function checkTrades(
  redis: RedisClient,
  sql: Sql,
  prefix: string,
  diffs: Collector,
  signal?: AbortSignal,
): Promise<CheckResult & { notYetWritten: number }> {
  const key = streamKey(prefix, STREAMS.executions);
  // what the ledger writer has committed: a missing trade after it is lag, not a loss
  const [offset] = await sql<{ last_id: string }[]>`
    SELECT last_id FROM consumer_offsets WHERE consumer = 'ledger-writer' AND stream = ${key}`;
  const inStream = new Map<string, { id: string; symbol: string }>();
  let first: string | undefined;
  let last: string | undefined;
  let notYetWritten = 0;
  let start = "-";
  while (!signal?.aborted) {
    const page = (await redis.xRange(key, start, "+", { COUNT: PAGE })) ?? [];
    if (page.length === 0) break;
    first ??= page[0].id;
    const pageLast = page[page.length - 1].id;
    last = pageLast;
    const fresh: string[] = [];
    for (const e of expandEntries(page as RawEntry[])) {
      // entries that do not match the contract are dead-lettered by the consumers, not trades
      const decoded = decodeEntry(STREAMS.executions, e);
      if (!decoded.ok) continue;
      const trade = decoded.value;
      if (!inStream.has(trade.tradeId)) fresh.push(trade.tradeId);
      inStream.set(trade.tradeId, { id: e.id, symbol: trade.symbol });
    }
    const found = new Set(
      (await sql<{ trade_id: string }[]>`
        SELECT trade_id FROM trade_ledger WHERE trade_id IN (SELECT unnest(${fresh}::text[]))`).map((r) =>
        r.trade_id
      ),
    );
    for (const id of fresh) {
      if (found.has(id)) continue;
      const t = inStream.get(id)!;
      if (!offset || compareStreamIds(t.id, offset.last_id) > 0) {
        notYetWritten++;
        continue;
      }
      diffs.add({
        check: "trades",
        where: `trade ${id} (${t.symbol}, stream entry ${t.id})`,
        expected: "in trade_ledger",
        actual: "missing",
      });
    }
    if (page.length < PAGE) break;
    const [ms, seq] = pageLast.split("-");
    start = `${ms}-${BigInt(seq) + 1n}`;
  }
  let ledgerRows = 0;
  if (first && last) {
    // rows written from the part of the stream that was read, which the stream does not hold
    const [fms, fseq] = first.split("-");
    const [lms, lseq] = last.split("-");
    const rows = sql<{ trade_id: string; symbol: string; stream_id: string }[]>`
      SELECT trade_id, symbol, stream_id FROM trade_ledger
      WHERE (split_part(stream_id, '-', 1)::bigint, split_part(split_part(stream_id, '/', 1), '-', 2)::bigint)
        BETWEEN (${fms}::bigint, ${fseq}::bigint) AND (${lms}::bigint, ${lseq}::bigint)`
      .cursor(PAGE);
    for await (const chunk of rows) {
      for (const r of chunk) {
        ledgerRows++;
        if (!inStream.has(r.trade_id)) {
          diffs.add({
            check: "trades",
            where: `trade ${r.trade_id} (${r.symbol}, ledger stream_id ${r.stream_id})`,
            expected: "in the executions stream",
            actual: "only in trade_ledger",
          });
        }
      }
    }
  }
  const n = diffs.count("trades");
  return {
    check: "trades",
    ok: n === 0,
    compared: inStream.size,
    differences: n,
    notYetWritten,
    summary:
      `${inStream.size} trades in ${key} vs ${ledgerRows} trade_ledger rows from the same stream range` +
      (notYetWritten ? ` (${notYetWritten} after the ledger writer's committed offset, not counted)` : ""),
  };
}

/** Postings sum to zero per asset, and per reference for the stored (funding) postings. */
async function checkPostings(sql: Sql, diffs: Collector): Promise<CheckResult> {
  const byAsset = await sql<{ asset: string; total: string; n: number }[]>`
    SELECT asset, sum(amount)::text AS total, count(*)::int AS n FROM ledger_postings GROUP BY asset ORDER BY asset`;
  for (const r of byAsset) {
    if (toScaled(r.total) !== 0n) {
      diffs.add({
        check: "postings",
        where: `asset ${r.asset}`,
        expected: "sum 0",
        actual: `sum ${norm(r.total)}`,
      });
    }
  }
  const refs = await sql<{ ref: string; asset: string; total: string }[]>`
    SELECT ref, asset, sum(amount)::text AS total FROM balance_postings GROUP BY ref, asset HAVING sum(amount) <> 0`;
  for (const r of refs) {
    diffs.add({
      check: "postings",
      where: `${r.ref} ${r.asset}`,
      expected: "sum 0",
      actual: `sum ${norm(r.total)}`,
    });
  }
  const n = diffs.count("postings");
  const postings = byAsset.reduce((s, r) => s + Number(r.n), 0);
  return {
    check: "postings",
    ok: n === 0,
    compared: postings,
    differences: n,
    summary:
      `${postings} postings in ${byAsset.length} assets sum to zero per asset and per funding reference`,
  };
}

/**
 * The engine's wallets (free + locked, as read with the streams' ends) vs the sums of the postings.
 * `changing`: the users whose balance changed after those ends, asked once the postings are read
 * (they are skipped: the ledger may hold only part of the change).
 */
async function checkBalances(
  raw: Record<string, string>,
  sql: Sql,
  diffs: Collector,
  changing: () => Promise<ReadonlySet<string>>,
): Promise<CheckResult> {
  const engine = new Map<string, Map<string, bigint>>();
  // reported once as they are; not again as "engine has no wallet"
  const unreadable = new Set<string>();
  for (const [userId, json] of Object.entries(raw)) {
    const value = JSON.parse(String(json));
    const parsed = WalletView.safeParse(value);
    if (!parsed.success) {
      unreadable.add(String(userId));
      const issue = parsed.error.issues[0];
      const path = issue?.path ?? [];
      let found: unknown = value;
      for (const k of path) found = (found as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey];
      diffs.add({
        check: "balances",
        where: `wallet of ${userId}`,
        expected: "a valid WalletView",
        actual: `${path.join(".") || "the wallet"}: ${issue?.message ?? "does not parse"}` +
          (typeof found === "string" || typeof found === "number" ? ` (${found})` : ""),
      });
      continue;
    }
    const m = new Map<string, bigint>();
    for (const b of parsed.data.balances) m.set(b.asset, toScaled(b.free) + toScaled(b.locked));
    engine.set(String(userId), m);
  }
  const ledger = new Map<string, Map<string, bigint>>();
  for (const b of await balancesFromPostings(sql)) {
    if (b.account === EXTERNAL_ACCOUNT) continue;
    if (!ledger.has(b.account)) ledger.set(b.account, new Map());
    ledger.get(b.account)!.set(b.asset, toScaled(b.balance));
  }
  const moving = await changing();
  let compared = 0;
  let skipped = 0;
  for (const user of new Set([...engine.keys(), ...ledger.keys()])) {
    if (unreadable.has(user)) continue;
    if (moving.has(user)) {
      skipped++;
      continue;
    }
    const e = engine.get(user);
    const l = ledger.get(user) ?? new Map<string, bigint>();
    for (const asset of new Set([...(e?.keys() ?? []), ...l.keys()])) {
      compared++;
      const ev = e?.get(asset) ?? 0n;
      const lv = l.get(asset) ?? 0n;
      if (ev !== lv) {
        diffs.add({
          check: "balances",
          where: `user ${user} asset ${asset}`,
          expected: e ? `engine ${fromScaled(ev)}` : "engine has no wallet",
          actual: `postings ${fromScaled(lv)}`,
        });
      }
    }
  }
  const n = diffs.count("balances");
  return {
    check: "balances",
    ok: n === 0,
    compared,
    differences: n,
    summary:
      `${engine.size} engine wallets vs ${ledger.size} accounts with postings (free + locked per asset)` +
      (skipped ? `; ${skipped} changing during the check, not compared` : ""),
  };
}

/** 1m trade candles vs the ledger's trades per minute. */
async function checkCandles(
  redis: RedisClient,
  sql: Sql,
  prefix: string,
  diffs: Collector,
  /** The "symbol minute" pairs trades arrived in after the streams' ends, asked once the data is read. */
  changing: () => Promise<ReadonlySet<string>>,
  signal?: AbortSignal,
): Promise<CheckResult> {
  const minutes = await sql<{ symbol: string; minute: Date; volume: string; trades: number }[]>`
    SELECT symbol, date_trunc('minute', executed_at) AS minute, sum(qty)::text AS volume, count(*)::int AS trades
    FROM trade_ledger GROUP BY 1, 2 ORDER BY 1, 2`;
  const bySymbol = new Map<string, Map<number, { volume: bigint; trades: number }>>();
  for (const m of minutes) {
    if (!bySymbol.has(m.symbol)) bySymbol.set(m.symbol, new Map());
    bySymbol.get(m.symbol)!.set(m.minute.getTime(), { volume: toScaled(m.volume), trades: Number(m.trades) });
  }
  // every symbol's candles first, then one look at what moved on meanwhile, then the comparison
  const candlesOf = new Map<string, Map<number, { volume: bigint; trades: number }>>();
  for (const [symbol, ledger] of bySymbol) {
    const times = [...ledger.keys()];
    let from = Math.min(...times);
    const to = Math.max(...times);
    const candles = new Map<number, { volume: bigint; trades: number }>();
    candlesOf.set(symbol, candles);
    while (from <= to && !signal?.aborted) {
      const page = await readCandles(redis, sql, prefix, {
        symbol,
        tf: "1m",
        from,
        to,
        fill: false,
        limit: 1000,
      });
      for (const c of page) candles.set(c.openTime, { volume: toScaled(c.volume), trades: c.trades });
      if (page.length < 1000) break;
      from = page[page.length - 1].openTime + 60_000;
    }
  }
  const moving = await changing();
  let compared = 0;
  for (const [symbol, ledger] of bySymbol) {
    const candles = candlesOf.get(symbol)!;
    for (const t of new Set([...ledger.keys(), ...candles.keys()])) {
      // a minute still receiving trades is compared at the next run
      if (moving.has(`${symbol} ${t}`)) continue;
      compared++;
      const l = ledger.get(t);
      const c = candles.get(t);
      if (l?.volume !== c?.volume || l?.trades !== c?.trades) {
        diffs.add({
          check: "candles",
          where: `${symbol} 1m ${new Date(t).toISOString()}`,
          expected: l ? `ledger volume ${fromScaled(l.volume)} in ${l.trades} trades` : "ledger: no trades",
          actual: c ? `candle volume ${fromScaled(c.volume)} in ${c.trades} trades` : "no candle",
        });
      }
    }
  }
  const n = diffs.count("candles");
  return {
    check: "candles",
    ok: n === 0,
    compared,
    differences: n,
    summary: `${compared} symbol-minutes: 1m candle volume and trade count vs the ledger's trades`,
  };
}

/**
 * Waits (up to 10 s) until `group` has read and acknowledged every entry of `key` up to `end`.
 * False when it did not in that time.
 */
async function caughtUp(
  redis: RedisClient,
  key: string,
  group: string,
  end: string,
  signal?: AbortSignal,
): Promise<boolean> {
  if (end === "0-0") return true;
  const deadline = Date.now() + 10_000;
  while (!signal?.aborted) {
    const g = await groupLag(redis, key, group);
    const pending = g.pending > 0
      ? ((await redis.xPending(key, group)) as { firstId: string | null }).firstId
      : null;
    const delivered = compareStreamIds(g.lastDeliveredId, end) >= 0;
    if (delivered && (pending === null || compareStreamIds(pending, end) > 0)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * What the output streams changed after `ends`, while the check ran: the users (buyers, sellers,
 * wallet events' users, the fee account among them) and the "symbol minute" pairs of the new trades.
 */
async function changedAfter(
  redis: RedisClient,
  execKey: string,
  walletKey: string,
  ends: { executions: string; wallet: string },
): Promise<{ users: Set<string>; minutes: Set<string> }> {
  const users = new Set<string>();
  const minutes = new Set<string>();
  const after = async (key: string, end: string) => {
    const entries = expandEntries(((await redis.xRange(key, `(${end}`, "+")) ?? []) as RawEntry[]);
    const values: Record<string, unknown>[] = [];
    for (const e of entries) {
      try {
        values.push(JSON.parse(e.message.payload ?? ""));
      } catch { /* not a message of the contract: it changes nothing */ }
    }
    return values;
  };
  for (const x of await after(execKey, ends.executions)) {
    minutes.add(`${x.symbol} ${Math.floor(Number(x.ts) / 60_000) * 60_000}`);
    for (const u of [x.buyerUserId, x.sellerUserId]) users.add(String(u));
  }
  for (const x of await after(walletKey, ends.wallet)) users.add(String(x.userId));
  return { users, minutes };
}

/** Runs every check and returns the report (it never throws for a difference, only for I/O errors). */
export async function runVerify(options: VerifyOptions): Promise<VerifyReport> {
  const redis = await connectRedis(options.redisUrl, { reconnect: false });
  const sql = connectDb(options.databaseUrl, { max: 2 });
  try {
    const diffs = new Collector(options.maxListed ?? 200);
    const execKey = streamKey(options.prefix, STREAMS.executions);
    const walletKey = streamKey(options.prefix, STREAMS.wallet);
    // The engine's wallets and the ends of its output streams, read together (the engine writes
    // them in one transaction); then the consumers get time to store up to those ends, and what
    // arrives after them marks the users and minutes that are still changing.
    const m = redis.multi();
    m.hGetAll(keys.wallets(options.prefix));
    m.xRevRange(execKey, "+", "-", { COUNT: 1 });
    m.xRevRange(walletKey, "+", "-", { COUNT: 1 });
    const [wallets, lastExec, lastWallet] = (await m.exec()) as unknown as [
      Record<string, string>,
      RawEntry[],
      RawEntry[],
    ];
    const ends = { executions: lastExec[0]?.id ?? "0-0", wallet: lastWallet[0]?.id ?? "0-0" };
    const lag: VerifyReport["lag"] = {};
    for (
      const [group, key, name, end] of [
        ["ledger-writer", execKey, "executions", ends.executions],
        ["ledger-writer", walletKey, "wallet", ends.wallet],
        ["candle-aggregator", execKey, "executions", ends.executions],
      ] as const
    ) {
      if (!await caughtUp(redis, key, group, end, options.signal)) {
        const l = await groupLag(redis, key, group);
        lag[`${group}/${name}`] = { lag: l.lag, pending: l.pending };
      }
    }
    if (options.signal?.aborted) throw new InterruptedError();
    const { notYetWritten: _lagging, ...trades } = await checkTrades(
      redis,
      sql,
      options.prefix,
      diffs,
      options.signal,
    );
    const postings = await checkPostings(sql, diffs);
    // each check asks what moved on since the ends once it has read its own data, so that nothing
    // stored after that question can surprise it
    const moving = () => changedAfter(redis, execKey, walletKey, ends);
    const balances = await checkBalances(wallets, sql, diffs, async () => (await moving()).users);
    const candles = await checkCandles(
      redis,
      sql,
      options.prefix,
      diffs,
      async () => (await moving()).minutes,
      options.signal,
    );
    if (options.signal?.aborted) throw new InterruptedError();
    const checks = [trades, postings, balances, candles];
    return {
      ok: checks.every((c) => c.ok),
      prefix: options.prefix,
      at: new Date().toISOString(),
      checks,
      differences: diffs.listed,
      lag,
    };
  } finally {
    await sql.end({ timeout: 5 });
    await redis.close();
  }
}

/** The report as text for a terminal. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines = [
    `verify ${report.prefix} at ${report.at}: ${report.ok ? "everything matches" : "DIFFERENCES FOUND"}`,
  ];
  for (const c of report.checks) {
    lines.push(
      `  ${c.ok ? "ok  " : "FAIL"} ${c.check.padEnd(8)} ${c.summary}${
        c.ok ? "" : `: ${c.differences} differ`
      }`,
    );
  }
  for (const [group, l] of Object.entries(report.lag)) {
    lines.push(
      `  note: ${group} is ${l.lag} entries behind with ${l.pending} pending; some differences may only be lag`,
    );
  }
  for (const d of report.differences) {
    lines.push(`  - [${d.check}] ${d.where}: expected ${d.expected}, found ${d.actual}`);
  }
  const listed = new Map<string, number>();
  for (const d of report.differences) listed.set(d.check, (listed.get(d.check) ?? 0) + 1);
  for (const c of report.checks) {
    const more = c.differences - (listed.get(c.check) ?? 0);
    if (more > 0) lines.push(`  ... and ${more} more ${c.check} differences`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const env = Deno.env.toObject();
  const report = await runVerify({
    redisUrl: env.REDIS_URL ?? DEFAULT_REDIS_URL,
    databaseUrl: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    prefix: env.KALENCY_PREFIX ?? DEFAULT_PREFIX,
  });
  console.log(Deno.args.includes("--json") ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
  Deno.exit(report.ok ? 0 : 1);
}
