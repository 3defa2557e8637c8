/**
 * The simulator as a deterministic state machine: symbols with their price models, the bot
 * population, and the admin controls. `step(ts)` advances simulated time by one interval and returns
 * the ticks and engine commands of that step; the process around it only paces the steps and carries
 * messages. The same seed, run tag and inputs (controls, bot accounts, wallet reads, replies, the bots'
 * order and wallet events, at the same steps) give the same ticks and commands.
 * @module
 */
import {
  type EngineCommandInput,
  type EngineReply,
  type MarketSpec,
  MAX_SIM_VOLATILITY,
  type OrderEvent,
  type SimControl,
  type Tick,
  type WalletEvent,
  type WalletView,
} from "@lib/contracts";
import { cancelAnswered, forgetUnanswered, orderUpdated, placeAnswered, releaseOf } from "./account.ts";
import {
  BOT_KINDS,
  type BotKind,
  type BotParams,
  type BotPopulation,
  type BotSymbolState,
  DECIDE,
  DEFAULT_BOT_PARAMS,
  Funds,
  halfSpreadTicks,
  type Intent,
  KIND_TAG,
  type SkipReason,
} from "./bots.ts";
import {
  amountText,
  baseAmount,
  fallbackSpec,
  type Market,
  marketOf,
  priceText,
  qtyText,
  quoteAmount,
  toUnits,
  unitLots,
} from "./market.ts";
import {
  createPriceState,
  followLegs,
  type PriceState,
  sigmaPerSqrtSec,
  stepPrice,
  toTicks,
} from "./price_model.ts";
import {
  customProfile,
  findProfile,
  type Profile,
  PROFILES,
  type Regime,
  REGIME_SPECS,
  volatilityPerTick,
} from "./profiles.ts";
import { createRng, type Rng } from "./rng.ts";

export interface SimulatorOptions {
  seed: string;
  intervalMs: number;
  /** Distinguishes this run's client order ids and command ids from earlier runs on the same prefix. */
  runTag: string;
  /** Full stream key the engine should reply to. */
  replyTo?: string;
  /** Profile of symbols until a control says otherwise. */
  profile: string;
  bots: BotPopulation;
  botParams?: Partial<BotParams>;
  running: boolean;
  /** Takers' limit on top-ups: at most one deposit per bot and asset per this many seconds. */
  topUpCooldownSec?: number;
  /** A top-up deposits this many typical orders' worth of the asset. */
  topUpUnits?: number;
}

/** Where `ensure` and new symbols get their filters and start price. */
export interface MarketLookup {
  /** The engine's spec of a symbol, if it lists it. */
  spec(symbol: string): MarketSpec | undefined;
  /** The symbol's last trade price, if it has traded. */
  lastPrice?(symbol: string): string | undefined;
}

interface SymbolSim {
  market: Market;
  state: PriceState;
  rng: Rng;
  profile: Profile;
  paused: boolean;
  /** The engine lists the market as PAUSED: no bot orders (ticks go on). */
  halted: boolean;
  ticks: number;
  lastTickPrice: number;
  emaFast: number;
  emaSlow: number;
  unitLots: number;
}

interface Bot {
  key: string;
  kind: BotKind;
  index: number;
  username: string;
  userId?: string;
  funds: Funds;
  seq: number;
  symbols: Map<string, BotSymbolState>;
  lastTopUp: Map<string, number>;
}

/** Something worth a log line or a metric; the process decides how loud. */
export type SimNote =
  | { type: "skip"; kind: BotKind; bot: string; symbol: string; reason: SkipReason }
  | { type: "topUp"; kind: BotKind; bot: string; symbol: string; asset: string; amount: string }
  | { type: "waitingForWallet"; kind: BotKind; bot: string };

/** Commands the simulator sends on a bot's behalf besides its decisions. */
type QueuedIntent =
  | Intent
  | { type: "cancelAll"; seq?: undefined }
  | { type: "deposit"; asset: string; amount: string }
  | { type: "openAccount" };

export interface StepOutput {
  ticks: Tick[];
  commands: EngineCommandInput[];
  /** Commands per bot kind, for metrics. */
  sent: { kind: BotKind; type: EngineCommandInput["type"] }[];
  notes: SimNote[];
}

export interface SymbolStatus {
  symbol: string;
  paused: boolean;
  price: string;
  regime: Regime;
  profile: string;
  volatility: number;
}

/** The JSON kept at `<prefix>:sim:status` for the gateway's admin status route. */
export interface SimStatus {
  running: boolean;
  profile: string;
  volatility: number;
  intervalMs: number;
  step: number;
  symbols: SymbolStatus[];
  bots: Record<BotKind, { count: number; ratePerSec: number; active: number }>;
  lastControlId?: string;
  ts: number;
}

export interface ControlOutcome {
  applied: boolean;
  message: string;
}

const FAST_EMA_SEC = 30;
const SLOW_EMA_SEC = 180;
/**
 * An order or cancel the engine has not answered in this long is forgotten (with what it reserved):
 * the engine answers within milliseconds while it runs, so only a lost command gets there.
 */
const ANSWER_TIMEOUT_SEC = 60;

/** `mm1.r3.42`: client order id of order number 42 of bot mm1 in run r3. */
export function clientOrderIdOf(botKey: string, runTag: string, seq: number): string {
  return `${botKey}.${runTag}.${seq}`;
}

/** `r3.mm1.42`: command id of command number 42 of bot mm1 in run r3. */
export function cmdIdOf(runTag: string, botKey: string, seq: number): string {
  return `${runTag}.${botKey}.${seq}`;
}

function formatDelta(x: number): string {
  if (!Number.isFinite(x) || x === 0) return "0";
  const s = x.toFixed(10).replace(/\.?0+$/, "");
  return s === "-0" || s === "" ? "0" : s;
}

export class Simulator {
  readonly options: SimulatorOptions;
  readonly params: BotParams;
  readonly dtSec: number;
  running: boolean;
  stepCount = 0;
  defaultProfile: Profile;
  population: BotPopulation;
  lastControlId: string | undefined;
  #symbols = new Map<string, SymbolSim>();
  #bots: Bot[] = [];
  #byUser = new Map<string, Bot>();
  #queued: { bot: Bot; intent: QueuedIntent; symbol: string }[] = [];

  constructor(options: SimulatorOptions) {
    this.options = options;
    this.params = { ...DEFAULT_BOT_PARAMS, ...options.botParams };
    this.dtSec = options.intervalMs / 1000;
    this.running = options.running;
    this.defaultProfile = findProfile(options.profile) ?? PROFILES.normal;
    this.population = structuredClone(options.bots);
    this.#resizeBots();
  }

  /** Symbols in the order they were added. */
  get symbols(): string[] {
    return [...this.#symbols.keys()];
  }

  hasSymbol(symbol: string): boolean {
    return this.#symbols.has(symbol.toUpperCase());
  }

  /** Starts simulating a market at `startPrice` (default: its spec's start price). */
  addSymbol(spec: MarketSpec, startPrice?: string): void {
    if (this.#symbols.has(spec.symbol)) return;
    const market = marketOf(spec);
    const start = Number(startPrice ?? spec.startPrice) || Number(spec.startPrice) || 100;
    const state = createPriceState(start, this.defaultProfile, market.tick);
    const ticks = toTicks(state, market.tick);
    this.#symbols.set(spec.symbol, {
      market,
      state,
      rng: createRng(this.options.seed, `price/${spec.symbol}`),
      profile: this.defaultProfile,
      paused: false,
      halted: spec.status === "PAUSED",
      ticks,
      lastTickPrice: ticks,
      emaFast: state.logPrice,
      emaSlow: state.logPrice,
      unitLots: unitLots(market, ticks, this.params.unitNotionalMult),
    });
  }

  /** Takes a newer spec of a simulated market (filters, engine status); the price path is kept. */
  updateSpec(spec: MarketSpec): void {
    const sym = this.#symbols.get(spec.symbol);
    if (!sym) return;
    const s = sym.market.spec;
    sym.halted = spec.status === "PAUSED";
    if (
      s.tickSize !== spec.tickSize || s.stepSize !== spec.stepSize || s.minQty !== spec.minQty ||
      s.maxQty !== spec.maxQty || s.minNotional !== spec.minNotional
    ) {
      sym.market = marketOf(spec);
      sym.state.floorLog = Math.log(sym.market.tick);
      sym.ticks = toTicks(sym.state, sym.market.tick);
      sym.unitLots = unitLots(sym.market, sym.ticks, this.params.unitNotionalMult);
    }
  }

  /** Bots that still need an account (username), in a fixed order. */
  pendingBots(): { key: string; kind: BotKind; username: string }[] {
    return this.#bots.filter((b) => !b.userId).map((b) => ({
      key: b.key,
      kind: b.kind,
      username: b.username,
    }));
  }

  /** Bots with an account; `walletKnown` once their balances have been read. */
  activeBots(): { key: string; kind: BotKind; userId: string; walletKnown: boolean }[] {
    return this.#bots.filter((b) => b.userId).map((b) => ({
      key: b.key,
      kind: b.kind,
      userId: b.userId!,
      walletKnown: b.funds.known,
    }));
  }

  /** Whether a user id is one of the bots' (the others' events are of no interest). */
  isBotUser(userId: string): boolean {
    return this.#byUser.has(userId);
  }

  /**
   * Gives a bot its account. It makes sure the engine has its wallet (openAccount is idempotent; a
   * bot that logged in may predate the engine's state), cancels whatever an earlier run of the same
   * bot left resting, then starts trading once its wallet has been read.
   */
  setBotUser(key: string, userId: string): void {
    const bot = this.#bots.find((b) => b.key === key);
    if (!bot || bot.userId) return;
    bot.userId = userId;
    this.#byUser.set(userId, bot);
    this.#queued.push({ bot, symbol: "", intent: { type: "openAccount" } });
    for (const symbol of this.#symbols.keys()) {
      this.#queued.push({ bot, symbol, intent: { type: "cancelAll" } });
    }
  }

  /**
   * A read of a bot's wallet from the engine's read model, for a bot that has not learned its
   * balances yet (the answer to its openAccount does that, and wallet events keep them current).
   */
  updateWallet(wallet: WalletView): void {
    const bot = this.#byUser.get(wallet.userId);
    if (!bot || bot.funds.known) return;
    bot.funds.load(
      wallet.balances.map((b) => ({ asset: b.asset, free: toUnits(b.free), locked: toUnits(b.locked) })),
    );
  }

  /**
   * Takes an engine reply to one of this run's commands: it settles what the command reserved, says
   * whether a placed order rests, and closes the orders a cancel was about. Returns the bot kind and
   * the rejection, if it was one (for metrics); undefined for replies to other senders' commands.
   *
   * The engine writes a command's reply, order events and wallet events in one transaction: hand in
   * the replies of a read before its wallet and order events, and no decision in between.
   */
  onReply(reply: EngineReply): { kind: BotKind; bot: string; rejected?: string } | undefined {
    const [run, key, seqText] = reply.cmdId.split(".");
    if (run !== this.options.runTag) return undefined;
    const bot = this.#bots.find((b) => b.key === key);
    if (!bot) return undefined;
    const seq = Number(seqText);
    bot.funds.settle(seq);
    if (reply.ok && reply.wallet) {
      // openAccount and deposit: the whole wallet right after the command
      bot.funds.load(reply.wallet.balances.map((b) => ({
        asset: b.asset,
        free: toUnits(b.free),
        locked: toUnits(b.locked),
      })));
    }
    for (const [symbol, s] of bot.symbols) {
      if (s.orders.length === 0) continue;
      const m = this.#symbols.get(symbol)!.market;
      // a limit order that filled (or expired) at once, or was rejected, is not resting: no cancel later
      placeAnswered(s.orders, seq, reply.ok ? reply.order : undefined, m, this.stepCount);
      // canceled, or gone before the cancel arrived (UNKNOWN_ORDER): closed either way, never re-sent
      cancelAnswered(s.orders, seq);
    }
    return reply.ok ? { kind: bot.kind, bot: key } : { kind: bot.kind, bot: key, rejected: reply.reason };
  }

  /** An order event of a bot's order: fills update it, a close (filled, canceled, expired) removes it. */
  onOrderEvent(event: OrderEvent): void {
    const o = event.order;
    const bot = this.#byUser.get(o.userId);
    const s = bot?.symbols.get(o.symbol);
    if (!s || s.orders.length === 0) return;
    orderUpdated(s.orders, event, this.#symbols.get(o.symbol)!.market, this.stepCount);
  }

  /** A wallet event of a bot's user: the asset's balance after the change. */
  onWalletEvent(event: WalletEvent): void {
    this.#byUser.get(event.userId)?.funds.apply(event.asset, toUnits(event.free), toUnits(event.locked));
  }

  /**
   * Applies an admin control. `replay` is set when rebuilding the state from the control stream at
   * start: the state ends the same, but one-off effects (a crash profile's immediate crash, cancels
   * on stop) are not repeated.
   */
  applyControl(control: SimControl, lookup: MarketLookup, replay = false): ControlOutcome {
    switch (control.action) {
      case "start":
        this.running = true;
        return { applied: true, message: "simulation started" };
      case "stop":
        if (this.running && !replay) this.#cancelEverything();
        this.running = false;
        return { applied: true, message: "simulation stopped" };
      case "volatility":
        return this.#setVolatility(control, replay);
      case "pause":
      case "resume": {
        const sym = this.#symbols.get(control.symbol.toUpperCase());
        if (!sym) return { applied: false, message: `symbol ${control.symbol} is not simulated` };
        sym.paused = control.action === "pause";
        return { applied: true, message: `${sym.market.symbol} ${sym.paused ? "paused" : "resumed"}` };
      }
      case "ensure": {
        const symbol = control.symbol.toUpperCase();
        const sym = this.#symbols.get(symbol);
        if (sym) {
          sym.paused = false;
          return { applied: true, message: `${symbol} was simulated already; resumed` };
        }
        if (!/^[A-Z0-9]{1,12}-[A-Z0-9]{1,12}$/.test(symbol)) {
          return { applied: false, message: `symbol ${control.symbol} is not BASE-QUOTE` };
        }
        const spec = lookup.spec(symbol);
        // unlisted: the filters and price of a symbol with the same quote asset, else of the first one
        const quote = symbol.split("-")[1];
        const first = [...this.#symbols.values()].find((s) => s.market.quote === quote) ??
          this.#symbols.values().next().value;
        const start = lookup.lastPrice?.(symbol) ?? spec?.startPrice ??
          (first ? priceText(first.market, first.ticks) : "100");
        this.addSymbol(spec ?? fallbackSpec(symbol, first?.market.spec, start), start);
        return {
          applied: true,
          message: `${symbol} added at ${start}${
            spec ? "" : " (not listed by the engine yet: default filters)"
          }`,
        };
      }
      case "bots": {
        const current = this.population[control.kind];
        this.population[control.kind] = {
          count: control.count ?? current.count,
          ratePerSec: control.ratePerSec ?? current.ratePerSec,
        };
        this.#resizeBots(replay);
        const now = this.population[control.kind];
        return {
          applied: true,
          message: `${control.kind}: ${now.count} bots at ${now.ratePerSec}/s per symbol`,
        };
      }
    }
  }

  #setVolatility(control: Extract<SimControl, { action: "volatility" }>, replay: boolean): ControlOutcome {
    const v = control.volatility;
    if (v !== undefined && !(v >= 0 && v <= MAX_SIM_VOLATILITY)) {
      return { applied: false, message: `volatility must be between 0 and ${MAX_SIM_VOLATILITY}, got ${v}` };
    }
    let profile: Profile | undefined;
    if (control.profile !== undefined) {
      profile = findProfile(control.profile);
      if (!profile) return { applied: false, message: `unknown volatility profile ${control.profile}` };
      if (control.volatility !== undefined) {
        profile = customProfile(control.volatility, this.options.intervalMs, profile);
      }
    } else {
      // the original's single number; no number means a flat price, as it did
      profile = customProfile(control.volatility ?? 0, this.options.intervalMs);
    }
    const targets: SymbolSim[] = [];
    if (control.symbol !== undefined) {
      const sym = this.#symbols.get(control.symbol.toUpperCase());
      if (!sym) return { applied: false, message: `symbol ${control.symbol} is not simulated` };
      targets.push(sym);
    } else {
      this.defaultProfile = profile;
      targets.push(...this.#symbols.values());
    }
    for (const sym of targets) {
      sym.profile = profile;
      if (profile.enter && !replay) sym.state.regime = profile.enter;
    }
    return {
      applied: true,
      message:
        `profile ${profile.name} (volatility ${
          volatilityPerTick(profile, this.options.intervalMs).toPrecision(3)
        }` +
        ` per tick) on ${control.symbol?.toUpperCase() ?? "all symbols"}`,
    };
  }

  #resizeBots(quiet = false): void {
    for (const kind of BOT_KINDS) {
      const want = this.population[kind].count;
      const have = this.#bots.filter((b) => b.kind === kind);
      for (let i = have.length + 1; i <= want; i++) {
        const tag = KIND_TAG[kind];
        this.#bots.push({
          key: `${tag}${i}`,
          kind,
          index: i,
          username: `bot-${tag}-${i}`,
          funds: new Funds(),
          seq: 0,
          symbols: new Map(),
          lastTopUp: new Map(),
        });
      }
      for (const bot of have.filter((b) => b.index > want)) {
        if (bot.userId && !quiet) {
          for (const symbol of this.#symbols.keys()) {
            this.#queued.push({ bot, symbol, intent: { type: "cancelAll" } });
          }
        }
        this.#bots.splice(this.#bots.indexOf(bot), 1);
        if (bot.userId) this.#byUser.delete(bot.userId);
      }
    }
    // a stable order whatever the history of resizes: by kind, then index
    this.#bots.sort((a, b) => BOT_KINDS.indexOf(a.kind) - BOT_KINDS.indexOf(b.kind) || a.index - b.index);
  }

  #cancelEverything(): void {
    for (const bot of this.#bots) {
      if (!bot.userId) continue;
      for (const [symbol, s] of bot.symbols) {
        s.quotes = undefined;
        s.orders = [];
        this.#queued.push({ bot, symbol, intent: { type: "cancelAll" } });
      }
    }
  }

  /** cancelAll commands for every bot on every symbol (for shutdown). */
  cancelAllCommands(): EngineCommandInput[] {
    this.#cancelEverything();
    return this.#drainQueued().commands;
  }

  #drainQueued(): { commands: EngineCommandInput[]; sent: StepOutput["sent"] } {
    const commands: EngineCommandInput[] = [];
    const sent: StepOutput["sent"] = [];
    for (const q of this.#queued) {
      const cmd = this.#command(q.bot, q.symbol, q.intent);
      if (cmd) {
        commands.push(cmd);
        sent.push({ kind: q.bot.kind, type: cmd.type });
      }
    }
    this.#queued = [];
    return { commands, sent };
  }

  #command(bot: Bot, symbol: string, intent: QueuedIntent): EngineCommandInput | undefined {
    if (!bot.userId) return undefined;
    const base = { replyTo: this.options.replyTo, userId: bot.userId };
    switch (intent.type) {
      case "place": {
        const m = this.#symbols.get(symbol)!.market;
        return {
          type: "place",
          cmdId: cmdIdOf(this.options.runTag, bot.key, intent.seq),
          ...base,
          symbol,
          side: intent.side,
          orderType: intent.orderType,
          ...(intent.orderType === "LIMIT" ? { price: priceText(m, intent.ticks!) } : {}),
          ...(intent.timeInForce ? { timeInForce: intent.timeInForce } : {}),
          qty: qtyText(m, intent.lots),
          clientOrderId: intent.clientOrderId,
        };
      }
      case "cancel":
        return {
          type: "cancel",
          cmdId: cmdIdOf(this.options.runTag, bot.key, intent.seq),
          ...base,
          symbol,
          clientOrderId: intent.clientOrderId,
        };
      case "cancelAll":
        return {
          type: "cancelAll",
          cmdId: cmdIdOf(this.options.runTag, bot.key, intent.seq ?? ++bot.seq),
          ...base,
          symbol,
        };
      case "openAccount":
        return { type: "openAccount", cmdId: cmdIdOf(this.options.runTag, bot.key, ++bot.seq), ...base };
      case "deposit":
        return {
          type: "deposit",
          cmdId: cmdIdOf(this.options.runTag, bot.key, ++bot.seq),
          ...base,
          asset: intent.asset,
          amount: intent.amount,
        };
    }
  }

  /** Advances simulated time by one interval. `ts` is the simulated time of this step (ms). */
  step(ts: number): StepOutput {
    const { commands, sent } = this.#drainQueued();
    const out: StepOutput = { ticks: [], commands, sent, notes: [] };
    if (!this.running) return out;
    this.stepCount++;
    // what the engine never answered is forgotten, with what it reserved
    const unanswered = this.stepCount - Math.round(ANSWER_TIMEOUT_SEC / this.dtSec);
    for (const bot of this.#bots) {
      bot.funds.forgetBefore(unanswered);
      for (const s of bot.symbols.values()) forgetUnanswered(s.orders, unanswered);
    }
    const dt = this.dtSec;
    const fastK = 1 - Math.exp(-dt / FAST_EMA_SEC);
    const slowK = 1 - Math.exp(-dt / SLOW_EMA_SEC);
    // cross pairs follow their legs, as arbitrage keeps them on a real exchange
    const crosses = this.#crossLegs();
    const before = new Map<string, [own: number, implied: number]>();
    for (const [symbol, [b, q]] of crosses) {
      before.set(symbol, [this.#symbols.get(symbol)!.state.logPrice, b.state.logPrice - q.state.logPrice]);
    }
    for (const sym of this.#symbols.values()) {
      if (!sym.paused) stepPrice(sym.state, sym.profile, sym.rng, dt);
    }
    for (const [symbol, [b, q]] of crosses) {
      const sym = this.#symbols.get(symbol)!;
      if (sym.paused) continue;
      const [own, implied] = before.get(symbol)!;
      followLegs(sym.state, own, implied, b.state.logPrice - q.state.logPrice, dt);
    }
    for (const [symbol, sym] of this.#symbols) {
      if (sym.paused) continue;
      sym.emaFast += fastK * (sym.state.logPrice - sym.emaFast);
      sym.emaSlow += slowK * (sym.state.logPrice - sym.emaSlow);
      const ticks = toTicks(sym.state, sym.market.tick);
      const spec = REGIME_SPECS[sym.state.regime];
      const volumeLots = Math.max(
        1,
        Math.round(sym.unitLots * spec.activity * (0.5 + 2.5 * sym.rng.uniform())),
      );
      out.ticks.push({
        symbol,
        price: priceText(sym.market, ticks),
        delta: formatDelta((ticks - sym.lastTickPrice) / sym.lastTickPrice),
        volume: qtyText(sym.market, volumeLots),
        regime: sym.state.regime,
        ts,
      });
      sym.lastTickPrice = ticks;
      sym.ticks = ticks;
      if (this.stepCount % 40 === 1) sym.unitLots = unitLots(sym.market, ticks, this.params.unitNotionalMult);
      if (!sym.halted) this.#botsOn(symbol, sym, out);
    }
    return out;
  }

  #crossLegsCache: { size: number; legs: Map<string, [SymbolSim, SymbolSim]> } | undefined;

  /**
   * The cross pairs among the simulated symbols, each with its two legs: B-Q with B-X and Q-X for
   * an asset X both are quoted in (BTC-ETH: BTC-USD and ETH-USD). Symbols are only ever added, so
   * the answer changes only with their number.
   */
  #crossLegs(): Map<string, [SymbolSim, SymbolSim]> {
    if (this.#crossLegsCache?.size === this.#symbols.size) return this.#crossLegsCache.legs;
    const legs = new Map<string, [SymbolSim, SymbolSim]>();
    const quotes = new Set([...this.#symbols.values()].map((s) => s.market.spec.quote));
    for (const [symbol, sym] of this.#symbols) {
      const { base, quote } = sym.market.spec;
      for (const x of quotes) {
        const b = this.#symbols.get(`${base}-${x}`);
        const q = this.#symbols.get(`${quote}-${x}`);
        if (b && q && b !== sym && q !== sym) {
          legs.set(symbol, [b, q]);
          break;
        }
      }
    }
    this.#crossLegsCache = { size: this.#symbols.size, legs };
    return legs;
  }

  #botsOn(symbol: string, sym: SymbolSim, out: StepOutput): void {
    const sigma = sigmaPerSqrtSec(sym.state, sym.profile);
    const oneMinute = sigma * Math.sqrt(60);
    const ctx = {
      market: sym.market,
      step: this.stepCount,
      dtSec: this.dtSec,
      priceTicks: sym.ticks,
      halfSpreadTicks: halfSpreadTicks(sym.ticks, sigma, this.params),
      activity: REGIME_SPECS[sym.state.regime].activity,
      momentum: oneMinute > 0 ? (sym.emaFast - sym.emaSlow) / oneMinute : 0,
      unitLots: sym.unitLots,
      orderAllowance: Math.floor(this.params.maxOpenOrders / this.#symbols.size),
    };
    for (const bot of this.#bots) {
      if (!bot.userId) continue;
      if (!bot.funds.known) {
        if (this.stepCount % 40 === 1) {
          out.notes.push({ type: "waitingForWallet", kind: bot.kind, bot: bot.key });
        }
        continue;
      }
      let s = bot.symbols.get(symbol);
      if (!s) {
        s = { rng: createRng(this.options.seed, `bot/${bot.key}/${symbol}`), orders: [] };
        bot.symbols.set(symbol, s);
      }
      const ids = {
        next: () => {
          const seq = ++bot.seq;
          return { seq, clientOrderId: clientOrderIdOf(bot.key, this.options.runTag, seq) };
        },
      };
      const decision = DECIDE[bot.kind](
        s,
        bot.funds,
        ctx,
        this.population[bot.kind].ratePerSec,
        this.params,
        ids,
      );
      for (const intent of decision.intents) {
        const cmd = this.#command(bot, symbol, intent)!;
        out.commands.push(cmd);
        out.sent.push({ kind: bot.kind, type: cmd.type });
      }
      for (const reason of decision.skips) {
        out.notes.push({ type: "skip", kind: bot.kind, bot: bot.key, symbol, reason });
        if (reason === "INSUFFICIENT_QUOTE" || reason === "INSUFFICIENT_BASE") {
          this.#maybeTopUp(bot, sym, s, out);
        }
      }
    }
  }

  /**
   * Last resort when a bot cannot trade a symbol: an asset it holds less than one typical order of
   * (free plus what its own quotes lock) is topped up by a deposit, at most once per cooldown.
   * Trading the other side and the market makers' inventory skew rebalance first.
   */
  #maybeTopUp(bot: Bot, sym: SymbolSim, s: BotSymbolState, out: StepOutput): void {
    const m = sym.market;
    const own = (side: "BUY" | "SELL") =>
      s.orders.reduce((n, o) => o.side === side ? n + releaseOf(o, m, bot.funds) : n, 0n);
    const cooldownSteps = (this.options.topUpCooldownSec ?? 60) / this.dtSec;
    const units = this.options.topUpUnits ?? 200;
    const lots = sym.unitLots;
    const checks = [
      {
        asset: m.base,
        held: bot.funds.free(m.base) + own("SELL"),
        unit: baseAmount(m, lots),
        amount: () => qtyText(m, lots * units),
      },
      {
        asset: m.quote,
        held: bot.funds.free(m.quote) + own("BUY"),
        unit: quoteAmount(m, sym.ticks, lots),
        amount: () => amountText(quoteAmount(m, sym.ticks, lots) * BigInt(units), 0),
      },
    ];
    for (const c of checks) {
      if (c.held >= c.unit) continue;
      const last = bot.lastTopUp.get(c.asset);
      if (last !== undefined && this.stepCount - last < cooldownSteps) continue;
      bot.lastTopUp.set(c.asset, this.stepCount);
      const amount = c.amount();
      const cmd = this.#command(bot, m.symbol, { type: "deposit", asset: c.asset, amount })!;
      out.commands.push(cmd);
      out.sent.push({ kind: bot.kind, type: "deposit" });
      out.notes.push({
        type: "topUp",
        kind: bot.kind,
        bot: bot.key,
        symbol: m.symbol,
        asset: c.asset,
        amount,
      });
    }
  }

  /** The status document (see {@linkcode SimStatus}). */
  status(ts: number): SimStatus {
    const interval = this.options.intervalMs;
    const bots = {} as SimStatus["bots"];
    for (const kind of BOT_KINDS) {
      bots[kind] = {
        ...this.population[kind],
        active: this.#bots.filter((b) => b.kind === kind && b.userId && b.funds.known).length,
      };
    }
    return {
      running: this.running,
      profile: this.defaultProfile.name,
      volatility: volatilityPerTick(this.defaultProfile, interval),
      intervalMs: interval,
      step: this.stepCount,
      symbols: [...this.#symbols.values()].map((s) => ({
        symbol: s.market.symbol,
        paused: s.paused,
        price: priceText(s.market, s.ticks),
        regime: s.state.regime,
        profile: s.profile.name,
        volatility: volatilityPerTick(s.profile, interval),
      })),
      bots,
      ...(this.lastControlId ? { lastControlId: this.lastControlId } : {}),
      ts,
    };
  }
}
