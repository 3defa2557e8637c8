/**
 * The simulator's process loop: paces the deterministic {@linkcode Simulator} in real time, carries
 * its ticks and bot commands to Redis, feeds it controls, engine replies, the bots' order and wallet
 * events, their first wallet reads and bot accounts, keeps `<prefix>:sim:status` current, and shuts
 * down by canceling the bots' orders.
 *
 * Controls are rebuilt at start by replaying the whole control stream (every control sets state, so
 * replaying is idempotent; one-off effects are skipped), then followed from the last entry read.
 * @module
 */
import {
  DEFAULT_MARKETS,
  type EngineCommandInput,
  type MarketSpec,
  replyStream,
  type SimControl,
  type StreamDef,
  streamKey,
  STREAMS,
  type Tick,
} from "@lib/contracts";
import type { z } from "zod";
import { sleep } from "@lib/lifecycle";
import { errorText, type Logger } from "@lib/log";
import type { Registry } from "@lib/metrics";
import {
  deadLetter,
  decodeEntry,
  followStream,
  followStreams,
  type RawEntry,
  type RedisClient,
} from "@lib/redis";
import { BotAccountError, type BotAccounts } from "./bot_accounts.ts";
import type { BotParams, BotPopulation } from "./bots.ts";
import { fallbackSpec } from "./market.ts";
import { DEFAULT_SIGNUP_PACE, Pacer, type PacerOptions } from "./pacer.ts";
import { SimStore } from "./sim_store.ts";
import { type MarketLookup, type SimNote, Simulator } from "./simulator.ts";

/** Name of the simulator's reply stream (`<prefix>:stream:replies:market-sim`). */
export const REPLY_STREAM = replyStream("market-sim");

export interface RunnerOptions {
  seed: string;
  intervalMs: number;
  profile: string;
  bots: BotPopulation;
  botParams?: Partial<BotParams>;
  startRunning: boolean;
  /** Symbols to simulate. Unset: the engine's markets (following new ones), or DEFAULT_MARKETS. */
  symbols?: string[];
  /** Approximate cap of the tick stream. @default {100_000} */
  ticksMaxLen?: number;
  /** @default {2000} */
  statusEveryMs?: number;
  /** How often wallets are read for bots that have not learned their balances yet. @default {1000} */
  walletEveryMs?: number;
  /** @default {5000} */
  marketsEveryMs?: number;
  /** Steps run in one go after a stall; beyond that the loop skips ahead. @default {20} */
  maxCatchUpSteps?: number;
  /** @default {30_000} */
  signupBackoffMaxMs?: number;
  /**
   * Sign-ups that fail in this long after the start are logged as info, not warnings: the gateway is
   * usually still starting (`deno task up` starts every service at once). @default {20_000}
   */
  signupGraceMs?: number;
  /**
   * Pace of the bots' sign-ups, which share the gateway's per-address login limit with people.
   * @default {DEFAULT_SIGNUP_PACE}
   */
  signupPace?: PacerOptions;
  /** How long shutdown waits for the replies to its cancelAll commands. @default {2000} */
  cancelWaitMs?: number;
}

export interface RunnerDeps {
  /** Connection for writes and reads. */
  redis: RedisClient;
  /** Connections of their own for the two blocking reads (controls; replies and bot events). */
  controlReader: RedisClient;
  replyReader: RedisClient;
  prefix: string;
  accounts: BotAccounts;
  log: Logger;
  registry: Registry;
}

export interface SimHandle {
  readonly sim: Simulator;
  readonly runTag: string;
  /** Wall-clock ms of the loop's last iteration. */
  lastLoopAt(): number;
  /** Bots still without an account, and the last sign-up error. */
  accounts(): { pending: number; lastError?: string };
  /** Stops the loop, cancels the bots' orders, writes the final status. Idempotent. */
  stop(): Promise<void>;
}

function metricsOf(registry: Registry) {
  return {
    ticks: registry.counter("sim_ticks_total", "Ticks published"),
    orders: registry.counter("sim_orders_total", "Commands sent by bots, by bot kind and command type"),
    rejections: registry.counter(
      "sim_rejections_total",
      "Bot commands the engine rejected, by bot kind and reason",
    ),
    replies: registry.counter("sim_replies_total", "Engine replies to bot commands received"),
    skips: registry.counter("sim_bot_skips_total", "Orders bots did not send, by bot kind and reason"),
    topUps: registry.counter("sim_bot_topups_total", "Deposits that refilled an exhausted bot asset"),
    controls: registry.counter("sim_controls_total", "Admin controls applied, by action and outcome"),
    badControls: registry.counter("sim_controls_dead_total", "Control entries that did not decode"),
    signupFailures: registry.counter("sim_signup_failures_total", "Failed bot sign-up/log-in attempts"),
    publishErrors: registry.counter(
      "sim_publish_errors_total",
      "Steps whose ticks/commands could not be written",
    ),
    loopErrors: registry.counter("sim_loop_errors_total", "Loop iterations that failed"),
    skippedSteps: registry.counter("sim_skipped_steps_total", "Steps skipped because the loop fell behind"),
    loop: registry.histogram("sim_loop_seconds", "Duration of one loop iteration (steps, publish, reads)"),
    running: registry.gauge("sim_running", "1 while the simulation runs"),
    symbols: registry.gauge("sim_symbols", "Simulated symbols"),
    activeBots: registry.gauge("sim_bots_active", "Bots with an account and a wallet, by kind"),
  };
}

/** Orders symbols for a stable run: an explicit list as given, the engine's alphabetically. */
function initialSymbols(options: RunnerOptions, engine: Map<string, MarketSpec>): string[] {
  if (options.symbols) return options.symbols.map((s) => s.toUpperCase());
  if (engine.size > 0) return [...engine.keys()].sort();
  return DEFAULT_MARKETS.map((m) => m.symbol);
}

/** Starts the simulator; resolves once it has replayed the controls and its loop is running. */
export async function startMarketSim(deps: RunnerDeps, options: RunnerOptions): Promise<SimHandle> {
  const { log, prefix } = deps;
  const m = metricsOf(deps.registry);
  const store = new SimStore(deps.redis, prefix);
  const interval = options.intervalMs;
  const runTag = await store.nextRunTag();
  const replyKey = streamKey(prefix, REPLY_STREAM);
  const controlKey = streamKey(prefix, STREAMS.simControl);

  let engineMarkets = await store.markets();
  const followEngine = options.symbols === undefined;
  const symbols = initialSymbols(options, engineMarkets);
  const sim = new Simulator({
    seed: options.seed,
    intervalMs: interval,
    runTag,
    replyTo: replyKey,
    profile: options.profile,
    bots: options.bots,
    botParams: options.botParams,
    running: options.startRunning,
  });

  const prices = await store.lastTradePrices(symbols);
  const specFor = (s: string): MarketSpec =>
    engineMarkets.get(s) ?? DEFAULT_MARKETS.find((d) => d.symbol === s) ??
      fallbackSpec(s, engineMarkets.values().next().value ?? DEFAULT_MARKETS[0], "100");
  for (const s of symbols) sim.addSymbol(specFor(s), prices.get(s));

  // rebuild the control state from the whole stream
  const history = await store.readControls();
  const ensured = history.controls.filter((c) => c.control.action === "ensure").map((c) =>
    (c.control as { symbol: string }).symbol.toUpperCase()
  );
  for (const [s, p] of await store.lastTradePrices(ensured)) prices.set(s, p);
  const lookup: MarketLookup = { spec: (s) => engineMarkets.get(s), lastPrice: (s) => prices.get(s) };
  for (const { control } of history.controls) sim.applyControl(control, lookup, true);
  for (const b of history.bad) log.warn("control entry ignored", { id: b.entry.id, reason: b.reason });
  sim.lastControlId = history.lastId;
  log.info("simulator ready", {
    runTag,
    symbols: sim.symbols.length,
    replayedControls: history.controls.length,
    running: sim.running,
    profile: sim.defaultProfile.name,
    intervalMs: interval,
  });

  const stopLoop = new AbortController();
  const stopFollowers = new AbortController();
  const queue: { id: string; control: SimControl }[] = [];
  let lastLoopAt = Date.now();
  let lastAccountError: string | undefined;
  const awaitedReplies = new Map<string, number>(); // cmdId -> orders canceled (-1 while waiting)
  const logged = new Map<string, number>();

  /** Logs at most once per key per `everyMs`. */
  function rare(key: string, everyMs: number, fn: () => void): void {
    const now = Date.now();
    if ((logged.get(key) ?? -Infinity) + everyMs > now) return;
    logged.set(key, now);
    fn();
  }

  function onNote(n: SimNote): void {
    if (n.type === "skip") {
      m.skips.inc({ kind: n.kind, reason: n.reason });
      if (n.reason === "INSUFFICIENT_BASE" || n.reason === "INSUFFICIENT_QUOTE") {
        rare(
          `skip/${n.bot}/${n.symbol}/${n.reason}`,
          60_000,
          () =>
            log.info("bot skipped an order it cannot fund; it trades the other side until rebalanced", {
              bot: n.bot,
              symbol: n.symbol,
              reason: n.reason,
            }),
        );
      }
    } else if (n.type === "topUp") {
      m.topUps.inc({ kind: n.kind, asset: n.asset });
      log.warn("bot ran out of an asset; depositing more", {
        bot: n.bot,
        symbol: n.symbol,
        asset: n.asset,
        amount: n.amount,
      });
    } else {
      rare(
        `wallet/${n.bot}`,
        30_000,
        () => log.info("bot waits for its wallet in the engine", { bot: n.bot }),
      );
    }
  }

  async function writeStatus(): Promise<void> {
    const status = sim.status(Date.now());
    const { pending, lastError } = handle.accounts();
    await store.writeStatus({ ...status, accounts: { pending, ...(lastError ? { lastError } : {}) } });
    m.running.set(status.running ? 1 : 0);
    m.symbols.set(status.symbols.length);
    for (const [kind, b] of Object.entries(status.bots)) m.activeBots.set(b.active, { kind });
  }

  function applyQueued(): boolean {
    let any = false;
    while (queue.length > 0) {
      const { id, control } = queue.shift()!;
      const r = sim.applyControl(control, lookup);
      sim.lastControlId = id;
      m.controls.inc({ action: control.action, applied: String(r.applied) });
      (r.applied ? log.info : log.warn)(`control ${control.action}: ${r.message}`, { id });
      any = true;
    }
    return any;
  }

  async function refreshMarkets(): Promise<void> {
    engineMarkets = await store.markets();
    for (const spec of engineMarkets.values()) {
      if (sim.hasSymbol(spec.symbol)) sim.updateSpec(spec);
      else if (followEngine) {
        const last = (await store.lastTradePrices([spec.symbol])).get(spec.symbol);
        sim.addSymbol(spec, last);
        log.info("simulating a new engine market", { symbol: spec.symbol, price: last ?? spec.startPrice });
      }
    }
  }

  /** Reads the wallets of bots that have not learned their balances (from openAccount's answer) yet. */
  async function refreshWallets(): Promise<void> {
    const bots = sim.activeBots().filter((b) => !b.walletKnown);
    if (bots.length === 0) return;
    for (const w of await store.wallets(bots.map((b) => b.userId))) sim.updateWallet(w);
  }

  function record(ticks: Tick[], commands: EngineCommandInput[], out: ReturnType<Simulator["step"]>): void {
    ticks.push(...out.ticks);
    commands.push(...out.commands);
    m.ticks.inc(undefined, out.ticks.length);
    for (const s of out.sent) m.orders.inc({ kind: s.kind, type: s.type });
    for (const n of out.notes) onNote(n);
  }

  async function loop(): Promise<void> {
    const signal = stopLoop.signal;
    const aligned = () => Math.floor(Date.now() / interval) * interval;
    let simTs = aligned();
    let next = performance.now();
    let wasRunning = sim.running;
    let lastStatus = -Infinity;
    let lastWallets = -Infinity;
    let lastMarkets = performance.now();
    const maxCatchUp = options.maxCatchUpSteps ?? 20;
    while (!signal.aborted) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait, signal);
      if (signal.aborted) break;
      const timer = m.loop.startTimer();
      try {
        let dirty = applyQueued();
        if (sim.running && !wasRunning) {
          // simulated time resumes from now after a stop
          simTs = aligned();
          next = performance.now();
        }
        wasRunning = sim.running;
        const ticks: Tick[] = [];
        const commands: EngineCommandInput[] = [];
        for (let n = 0; n < maxCatchUp && performance.now() >= next; n++) {
          record(ticks, commands, sim.step(simTs));
          simTs += interval;
          next += interval;
        }
        const behind = Math.floor((performance.now() - next) / interval);
        if (behind > 0) {
          next += behind * interval;
          simTs += behind * interval;
          m.skippedSteps.inc(undefined, behind);
          rare("behind", 10_000, () => log.warn("loop fell behind; skipping steps", { steps: behind }));
        }
        if (ticks.length || commands.length) {
          try {
            await store.publish(ticks, commands, options.ticksMaxLen ?? 100_000);
          } catch (e) {
            m.publishErrors.inc();
            rare("publish", 5_000, () => log.error("cannot publish ticks/commands", { error: errorText(e) }));
          }
        }
        const now = performance.now();
        if (sim.running && now - lastWallets >= (options.walletEveryMs ?? 1000)) {
          lastWallets = now;
          await refreshWallets();
        }
        if (now - lastMarkets >= (options.marketsEveryMs ?? 5000)) {
          lastMarkets = now;
          const before = sim.symbols.length;
          await refreshMarkets();
          dirty ||= sim.symbols.length !== before;
        }
        if (dirty || now - lastStatus >= (options.statusEveryMs ?? 2000)) {
          lastStatus = now;
          await writeStatus();
        }
      } catch (e) {
        m.loopErrors.inc();
        rare("loop", 5_000, () => log.error("simulator loop iteration failed", { error: errorText(e) }));
        // try again one interval later: a step that throws at once must not spin the loop without
        // ever yielding (health checks, controls and shutdown all need the event loop)
        next = performance.now() + interval;
      } finally {
        timer();
        lastLoopAt = Date.now();
      }
    }
  }

  /** Waits (a little) for the engine to list an ensured symbol, so it is simulated with the real filters. */
  async function resolveEnsure(symbol: string): Promise<void> {
    for (let i = 0; i < 10 && !stopFollowers.signal.aborted; i++) {
      if (engineMarkets.has(symbol) || sim.hasSymbol(symbol)) break;
      await sleep(200, stopFollowers.signal);
      engineMarkets = await store.markets();
    }
    for (const [s, p] of await store.lastTradePrices([symbol])) prices.set(s, p);
  }

  async function followControls(): Promise<void> {
    const signal = stopFollowers.signal;
    const from = history.lastId ?? "0-0";
    for await (
      const batch of followStream(deps.controlReader, controlKey, {
        signal,
        fromId: from,
        blockMs: 1000,
        onError: (e) =>
          rare("controls", 10_000, () => log.warn("cannot read controls", { error: errorText(e) })),
      })
    ) {
      for (const entry of batch) {
        const d = decodeEntry(STREAMS.simControl, entry);
        if (!d.ok) {
          m.badControls.inc();
          log.warn("control entry does not decode; dead-lettered", { id: entry.id, reason: d.reason });
          await deadLetter(deps.redis, controlKey, entry, d.reason, "market-sim").catch(() => {});
          continue;
        }
        try {
          if (d.value.action === "ensure") await resolveEnsure(d.value.symbol.toUpperCase());
        } catch (e) {
          log.warn("cannot look the ensured market up; default filters", { error: errorText(e) });
        }
        queue.push({ id: entry.id, control: d.value });
      }
    }
  }

  function onReplyEntry(entry: RawEntry): void {
    const d = decodeEntry(REPLY_STREAM, entry);
    if (!d.ok) return;
    const reply = d.value;
    m.replies.inc();
    if (awaitedReplies.has(reply.cmdId)) {
      awaitedReplies.set(reply.cmdId, reply.ok ? reply.orders?.length ?? 0 : 0);
    }
    const r = sim.onReply(reply);
    if (r?.rejected) {
      m.rejections.inc({ kind: r.kind, reason: r.rejected });
      // a cancel that arrives after the order filled is a race a real bot meets too; the rest are not
      const level = r.rejected === "UNKNOWN_ORDER" ? log.info : log.warn;
      rare(
        `rejected/${r.bot}/${r.rejected}`,
        30_000,
        () =>
          level("engine rejected a bot command", {
            bot: r.bot,
            reason: r.rejected,
            message: reply.ok ? undefined : reply.message,
          }),
      );
    }
  }

  /**
   * The message of an event entry when it is about one of the bots, checked against its contract;
   * undefined for every other user's (most of the stream) or a message that does not decode. The
   * payload is parsed once: the user id is read off it before the contract is checked.
   */
  function botMessage<S extends z.ZodType>(
    stream: StreamDef<S>,
    entry: RawEntry,
    userIdOf: (json: { userId?: unknown; order?: { userId?: unknown } }) => unknown,
  ): z.output<S> | undefined {
    let json: unknown;
    try {
      json = JSON.parse(entry.message.payload ?? "null");
    } catch {
      return undefined;
    }
    const userId = json !== null && typeof json === "object" ? userIdOf(json) : undefined;
    if (typeof userId !== "string" || !sim.isBotUser(userId)) return undefined;
    const r = stream.schema.safeParse(json);
    return r.success ? r.data : undefined;
  }

  /**
   * Follows the bots' replies and the engine's order and wallet events in one read: the engine writes
   * a command's reply and events in one transaction, so a read holds all of them or none. Replies go
   * in first (a wallet in openAccount's answer, then the wallet events after it), then wallet events,
   * then order events, all before the loop decides again.
   */
  async function followAccounts(): Promise<void> {
    const streamKeys = [
      replyKey,
      streamKey(prefix, STREAMS.wallet),
      streamKey(prefix, STREAMS.orderEvents),
    ];
    const fromIds: string[] = [];
    for (const key of streamKeys) {
      const last = await deps.replyReader.xRevRange(key, "+", "-", { COUNT: 1 });
      fromIds.push(last?.[0]?.id ?? "0-0");
    }
    for await (
      const reads of followStreams(deps.replyReader, streamKeys, {
        signal: stopFollowers.signal,
        fromIds,
        blockMs: 1000,
        // a reply with its wallet and order events, even while far behind (see followStreams)
        complete: true,
        onError: (e) =>
          rare("replies", 10_000, () => log.warn("cannot read replies and events", { error: errorText(e) })),
      })
    ) {
      reads.sort((a, b) => a.index - b.index);
      for (const { index, entries } of reads) {
        for (const entry of entries) {
          if (index === 0) onReplyEntry(entry);
          else if (index === 1) {
            const event = botMessage(STREAMS.wallet, entry, (j) => j.userId);
            if (event) sim.onWalletEvent(event);
          } else {
            const event = botMessage(STREAMS.orderEvents, entry, (j) => j.order?.userId);
            if (event) sim.onOrderEvent(event);
          }
        }
      }
    }
  }

  async function signUps(): Promise<void> {
    const signal = stopLoop.signal;
    const graceUntil = Date.now() + (options.signupGraceMs ?? 20_000);
    const pacer = new Pacer(options.signupPace ?? DEFAULT_SIGNUP_PACE, Date.now());
    let backoff = 1000;
    while (!signal.aborted) {
      const pending = sim.pendingBots();
      if (pending.length === 0) {
        await sleep(1000, signal);
        continue;
      }
      try {
        // a name someone else holds (refused sign-up and log-in) holds up only its own bot
        const refused: string[] = [];
        for (const b of pending) {
          // a bot may take two requests: a sign-up, then a log-in when its name exists
          for (let request = 0; request < 2; request++) {
            for (
              let wait = pacer.take(Date.now());
              wait > 0 && !signal.aborted;
              wait = pacer.take(Date.now())
            ) {
              await sleep(wait, signal);
            }
          }
          if (signal.aborted) return;
          let userId: string;
          try {
            userId = await deps.accounts.userIdFor(b.username, signal);
          } catch (e) {
            if (!(e instanceof BotAccountError) || e.status !== 401) throw e;
            refused.push(errorText(e));
            continue;
          }
          sim.setBotUser(b.key, userId);
          log.info("bot account ready", { bot: b.username, userId });
        }
        if (refused.length) throw new BotAccountError(refused.join("; "), 401);
        backoff = 1000;
        lastAccountError = undefined;
      } catch (e) {
        if (signal.aborted) return;
        lastAccountError = errorText(e);
        m.signupFailures.inc();
        if (Date.now() < graceUntil) {
          log.info("waiting for the gateway to sign the bots up; ticks go on meanwhile", {
            error: lastAccountError,
            retryInMs: backoff,
          });
        } else {
          log.warn("bot sign-up failed; ticks go on without bot orders, retrying", {
            error: lastAccountError,
            retryInMs: backoff,
          });
        }
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, options.signupBackoffMaxMs ?? 30_000);
      }
    }
  }

  let stopping: Promise<void> | undefined;
  const handle: SimHandle = {
    sim,
    runTag,
    lastLoopAt: () => lastLoopAt,
    accounts: () => ({
      pending: sim.pendingBots().length,
      ...(lastAccountError ? { lastError: lastAccountError } : {}),
    }),
    stop() {
      stopping ??= (async () => {
        stopLoop.abort();
        await Promise.allSettled([loopDone, signUpsDone]);
        const cancels = sim.cancelAllCommands();
        for (const c of cancels) awaitedReplies.set(c.cmdId, -1);
        try {
          await store.publish([], cancels, options.ticksMaxLen ?? 100_000);
          const deadline = Date.now() + (options.cancelWaitMs ?? 2000);
          while (Date.now() < deadline && [...awaitedReplies.values()].some((v) => v < 0)) {
            await new Promise((r) => setTimeout(r, 50));
          }
          const answered = [...awaitedReplies.values()].filter((v) => v >= 0);
          log.info("bots canceled their orders", {
            commands: cancels.length,
            answered: answered.length,
            ordersCanceled: answered.reduce((a, b) => a + b, 0),
          });
        } catch (e) {
          log.warn("cannot send the bots' cancelAll commands", { error: errorText(e) });
        }
        stopFollowers.abort();
        await Promise.allSettled([controlsDone, repliesDone]);
        sim.running = false;
        await writeStatus().catch(() => {});
      })();
      return stopping;
    },
  };

  await writeStatus();
  const loopDone = loop();
  const signUpsDone = signUps();
  const controlsDone = followControls().catch((e) =>
    log.error("control follower stopped", { error: errorText(e) })
  );
  const repliesDone = followAccounts().catch((e) =>
    log.error("reply and event follower stopped", { error: errorText(e) })
  );
  return handle;
}
