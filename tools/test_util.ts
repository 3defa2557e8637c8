/**
 * Helpers for the tools' tests: run the CLI in-process with collecting writers, and build valid
 * stream messages.
 * @module
 */
import type { Execution, OrderAck } from "@lib/contracts";
import { sampleOrderAck, TEST_REDIS_URL } from "@lib/testing";
import { runCli } from "./cli.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process against the test Redis and a prefix; output is collected. */
export async function tools(
  argv: string[],
  options: {
    prefix?: string;
    signal?: AbortSignal;
    stdin?: string[];
    isTty?: boolean;
    databaseUrl?: string;
  } = {},
): Promise<CliRun> {
  const run = { stdout: "", stderr: "" };
  const stdin = [...(options.stdin ?? [])];
  const extra = [
    ...(options.prefix ? ["--prefix", options.prefix] : []),
    ...(options.databaseUrl ? ["--database-url", options.databaseUrl] : []),
  ];
  const code = await runCli([...argv, ...extra], {
    writers: { stdout: (t) => run.stdout += t, stderr: (t) => run.stderr += t },
    env: (name) => (name === "REDIS_URL" ? TEST_REDIS_URL : undefined),
    isTty: options.isTty ?? false,
    signal: options.signal ?? new AbortController().signal,
    readLine: () => Promise.resolve(stdin.shift()),
    now: () => Date.now(),
  });
  return { code, ...run };
}

/** A live run of the CLI: output so far, stop(), and the exit status. */
export function toolsLive(argv: string[], options: { prefix?: string; isTty?: boolean } = {}) {
  const controller = new AbortController();
  const out = { stdout: "", stderr: "" };
  const done = runCli([...argv, ...(options.prefix ? ["--prefix", options.prefix] : [])], {
    writers: { stdout: (t) => out.stdout += t, stderr: (t) => out.stderr += t },
    env: (name) => (name === "REDIS_URL" ? TEST_REDIS_URL : undefined),
    isTty: options.isTty ?? false,
    signal: controller.signal,
    readLine: () => Promise.resolve(undefined),
    now: () => Date.now(),
  });
  return {
    out,
    /** The exit status once the command ends by itself. */
    done,
    async stop(): Promise<number> {
      controller.abort();
      return await done;
    },
  };
}

/** A valid execution. */
export function execution(over: Partial<Execution> = {}): Execution {
  return {
    tradeId: "trd-1",
    symbol: "BTC-USD",
    seq: 1,
    price: "65000.00",
    qty: "0.5",
    quoteQty: "32500.00",
    makerOrderId: "ord-1",
    makerUserId: "alice",
    takerOrderId: "ord-2",
    takerUserId: "bob",
    takerSide: "BUY",
    buyerUserId: "bob",
    sellerUserId: "alice",
    buyOrderId: "ord-2",
    sellOrderId: "ord-1",
    makerFee: "0",
    takerFee: "0",
    feeAsset: "USD",
    ts: 1_764_118_000_000,
    ...over,
  };
}

/** A valid order ack. */
export function orderAck(over: Partial<OrderAck> = {}): OrderAck {
  return sampleOrderAck({ orderId: "ord-1", price: "65000.00", qty: "0.5", remainingQty: "0.5", ...over });
}

/** Parses JSON lines. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

const ROOT = new URL("../", import.meta.url).pathname;

/** A service process started for a test; `stop()` sends SIGTERM and returns its exit status. */
export interface Spawned {
  readonly output: () => string;
  /** Sends SIGTERM (or the given signal) and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<number>;
}

/**
 * Starts a service's main.ts with a prefix (and extra env) and waits until its /healthz answers 200.
 * Its output is collected (for failure messages), so the pipes never fill.
 */
export async function spawnService(
  main: string,
  env: Record<string, string>,
  healthUrl: string,
  timeoutMs = 30_000,
): Promise<Spawned> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main],
    cwd: ROOT,
    env: { REDIS_URL: TEST_REDIS_URL, LOG_LEVEL: "warn", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of s) text += decoder.decode(chunk, { stream: true });
    })();
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    if (!exited) child.kill(signal);
    const s = await status;
    await drained;
    return s.code;
  };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (exited) {
      await drained;
      throw new Error(`${main} exited early: ${text}`);
    }
    try {
      const res = await fetch(healthUrl, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${main} did not become healthy in ${timeoutMs} ms: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { output: () => text, stop };
}

/** Starts the matching engine under a prefix on a free port. */
export async function spawnEngine(prefix: string, env: Record<string, string> = {}): Promise<Spawned> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return await spawnService(
    "services/matching-engine/main.ts",
    { KALENCY_PREFIX: prefix, KALENCY_ENGINE_PORT: String(port), ...env },
    `http://127.0.0.1:${port}/healthz`,
  );
}

/**
 * A TCP relay in front of the test Redis, to take a client's connection away and give it back. It
 * keeps its port while "down" (connections are dropped and new ones closed at once): a port given
 * up and taken again could meanwhile be handed to another test as free.
 */
export class RedisRelay {
  readonly #conns: Deno.Conn[] = [];
  readonly #pipes: Promise<unknown>[] = [];
  readonly #accepting: Promise<void>;
  readonly #listener: Deno.Listener;
  #up = true;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    const target = new URL(TEST_REDIS_URL);
    try {
      for await (const client of this.#listener) {
        if (!this.#up) {
          client.close();
          continue;
        }
        const server = await Deno.connect({ hostname: target.hostname, port: Number(target.port || 6379) });
        this.#conns.push(client, server);
        this.#pipes.push(client.readable.pipeTo(server.writable).catch(() => {}));
        this.#pipes.push(server.readable.pipeTo(client.writable).catch(() => {}));
      }
    } catch { /* closed */ }
  }

  /** Drops every connection and refuses new ones until {@linkcode up}. */
  async down(): Promise<void> {
    this.#up = false;
    for (const c of this.#conns.splice(0)) {
      try {
        c.close();
      } catch { /* closed by its pipe already */ }
    }
    await Promise.all(this.#pipes.splice(0));
  }

  /** Relays connections again. */
  up(): void {
    this.#up = true;
  }

  /** Drops everything and stops listening. */
  async close(): Promise<void> {
    await this.down();
    try {
      this.#listener.close();
    } catch { /* closed already */ }
    await this.#accepting;
  }
}

/**
 * Waits out node-redis' reconnect delay (at most 2 s, see makeClient in @lib/redis): a client
 * destroyed while it waited to reconnect leaves that timer running, and a test must not end before it.
 */
export function reconnectDelayOver(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 2100));
}
