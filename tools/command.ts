/**
 * What every tools command shares: its description (name, options, help text), the context it runs
 * in (global options, output, abort signal), and the output writer that prints coloured text on a
 * terminal, plain text when piped, and one JSON object per line with `--json`.
 * @module
 */
import { maskUrlPassword } from "@lib/config";
import { keys } from "@lib/contracts";
import { connectRedis, type RedisClient } from "@lib/redis";
import { connectDb, type Sql } from "@lib/db";
import { createStyle, type Style } from "./format.ts";

/** Options every command accepts. */
export interface GlobalOptions {
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
  json: boolean;
  color: boolean;
}

/** One option of a command: the `node:util` parseArgs spec plus what `--help` prints. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help ("N", "ID", "URL"). */
  value?: string;
  description: string;
}

/** Parsed arguments of one command (after the command name and any sub-command). */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A command of `deno task tools`. */
export interface Command {
  name: string;
  /** One line for `tools --help`. */
  summary: string;
  /** Usage lines ("tail <stream> [--from ID | --since 5m] [--count N]"). */
  usage: string[];
  /** Paragraphs printed under the usage by `--help`. */
  description?: string;
  /** Examples printed by `--help`. */
  examples?: string[];
  options: Record<string, OptionSpec>;
  run(ctx: CommandContext, args: ParsedArgs): Promise<number>;
}

/** Bad command line: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A command cannot run yet because a module it relies on is not in the checkout: exit status 2. */
export class NotAvailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotAvailableError";
  }
}

/** Where output goes; tests pass collectors. */
export interface Writers {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Writes the command's results: text lines, JSON lines, and a live progress line on a terminal. */
export class Output {
  readonly style: Style;
  #progressShown = false;
  constructor(
    readonly writers: Writers,
    readonly json: boolean,
    color: boolean,
    /** stdout is a terminal: progress lines and screen refreshes are allowed. */
    readonly tty: boolean,
  ) {
    this.style = createStyle(color && !json);
  }

  #clearProgress(): void {
    if (this.#progressShown) {
      this.writers.stdout("\r\x1b[2K");
      this.#progressShown = false;
    }
  }

  /** A human line (text mode only; ignored with --json). */
  line(text = ""): void {
    if (this.json) return;
    this.#clearProgress();
    this.writers.stdout(text + "\n");
  }

  /** Several human lines. */
  lines(texts: string[]): void {
    for (const t of texts) this.line(t);
  }

  /** One record: a JSON line with --json, else the given text line(s). */
  record(value: unknown, text?: string | string[]): void {
    if (this.json) {
      this.writers.stdout(JSON.stringify(value) + "\n");
      return;
    }
    if (text === undefined) return;
    for (const t of Array.isArray(text) ? text : [text]) this.line(t);
  }

  /** A one-line status that rewrites itself on a terminal; nothing when piped or with --json. */
  progress(text: string): void {
    if (!this.tty || this.json) return;
    this.writers.stdout(`\r\x1b[2K${text}`);
    this.#progressShown = true;
  }

  /** Ends a progress line, leaving nothing behind. */
  endProgress(): void {
    this.#clearProgress();
  }

  /** Clears the terminal screen (for --watch); a blank line when piped. */
  clearScreen(): void {
    if (this.json) return;
    if (this.tty) this.writers.stdout("\x1b[H\x1b[2J");
    else this.writers.stdout("\n");
  }

  /** A warning or error for humans, always on stderr. */
  error(text: string): void {
    this.#clearProgress();
    this.writers.stderr(text + "\n");
  }
}

/** Everything a command runs with. */
export interface CommandContext {
  options: GlobalOptions;
  out: Output;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
  /** Reads one line of standard input (a password when piped); undefined at end of input. */
  readLine(prompt: string, options?: { hidden?: boolean }): Promise<string | undefined>;
  /** Current time; tests may fix it. */
  now(): number;
}

/**
 * Refuses a prefix the engine never wrote under (no checkpoint, no markets): a mistyped --prefix
 * would otherwise be compared with an empty state and reported as a pile of differences.
 */
export async function requireEngineState(redis: RedisClient, prefix: string): Promise<void> {
  if (await redis.exists([keys.checkpoint(prefix), keys.markets(prefix)]) > 0) return;
  throw new Error(
    `no matching-engine state under the prefix "${prefix}" (no checkpoint, no markets): ` +
      "check --prefix or KALENCY_PREFIX",
  );
}

/** The symbols the matching engine lists under a prefix, sorted. */
export async function knownMarkets(redis: RedisClient, prefix: string): Promise<string[]> {
  return (await redis.hKeys(keys.markets(prefix))).map(String).sort();
}

/** How long a command waits for Redis to answer its first connection. */
export const REDIS_CONNECT_TIMEOUT_MS = 5000;

/** True for the errors of a Redis connection that dropped (node-redis gives them no name or code). */
export function isConnectionLoss(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  if (code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE") return true;
  return /^(Socket closed unexpectedly|The client is (closed|offline)|Connection timeout|Socket timeout)/
    .test(String((e as Error)?.message));
}

/** Thrown when Ctrl-C (or SIGTERM) ended a command while it waited: the CLI exits 130. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/**
 * A Redis connection for a command; disposing closes it. The first connection fails fast with a
 * clear message (refused, or no answer within {@linkcode REDIS_CONNECT_TIMEOUT_MS}) and gives way
 * to Ctrl-C. `follow`: a command that runs until stopped (tail, book --watch) keeps it: a lost
 * connection is said once on stderr, retried, and its return said too.
 */
export async function openRedis(
  ctx: CommandContext,
  options: { follow?: boolean } = {},
): Promise<RedisClient & AsyncDisposable> {
  const where = maskUrlPassword(ctx.options.redisUrl);
  // the first connection is not retried, even when later ones are: the first error ends it
  let firstError: Error | undefined;
  const refused = new AbortController();
  let connected = false;
  let lost = false;
  let client: RedisClient;
  try {
    client = await connectRedis(ctx.options.redisUrl, {
      name: "kalency-tools",
      reconnect: options.follow === true,
      signal: AbortSignal.any([ctx.signal, refused.signal]),
      timeoutMs: REDIS_CONNECT_TIMEOUT_MS,
      onWaiting: (e) => {
        firstError = e;
        refused.abort();
      },
      // only a following command reconnects; the others fail with the command's own error
      onError: (e) => {
        if (!options.follow || !connected || lost || ctx.signal.aborted) return;
        lost = true;
        ctx.out.error(
          ctx.out.style.yellow(`lost the connection to Redis at ${where} (${e.message}); reconnecting…`),
        );
      },
    });
  } catch (e) {
    if (ctx.signal.aborted) throw new InterruptedError();
    throw new Error(`cannot connect to Redis at ${where}: ${(firstError ?? e as Error).message}`);
  }
  connected = true;
  if (options.follow) {
    // a read waiting in the offline queue for a reconnect would hold Ctrl-C up: drop the client
    ctx.signal.addEventListener("abort", () => {
      try {
        client.destroy();
      } catch { /* closed already */ }
    }, { once: true });
    (client as unknown as { on(e: "ready", f: () => void): void }).on("ready", () => {
      if (!lost) return;
      lost = false;
      ctx.out.error(ctx.out.style.green(`reconnected to Redis at ${where}`));
    });
  }
  return Object.assign(client, {
    async [Symbol.asyncDispose]() {
      try {
        await client.close();
      } catch {
        // already closed (for instance destroyed to stop a blocking read)
      }
    },
  });
}

/** A PostgreSQL pool for a command; disposing ends it. */
export function openDb(ctx: CommandContext): Sql & AsyncDisposable {
  const sql = connectDb(ctx.options.databaseUrl, { max: 2 });
  return Object.assign(sql, {
    async [Symbol.asyncDispose]() {
      await sql.end({ timeout: 5 });
    },
  });
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "ETIMEDOUT",
  "ECONNRESET",
  "CONNECT_TIMEOUT",
  "3D000",
  "28P01",
  "28000",
]);

/**
 * Runs `fn` with a PostgreSQL pool; a connection failure (refused, unknown host or database, bad
 * credentials) becomes one message naming the database URL.
 */
export async function withDb<T>(ctx: CommandContext, fn: (sql: Sql) => Promise<T>): Promise<T> {
  await using sql = openDb(ctx);
  try {
    return await fn(sql);
  } catch (e) {
    const code = String((e as { code?: unknown }).code ?? "");
    if (UNREACHABLE.has(code)) {
      throw new Error(
        `cannot use PostgreSQL at ${maskUrlPassword(ctx.options.databaseUrl)}: ${(e as Error).message} ` +
          "(set --database-url or DATABASE_URL; deno task db:migrate creates the database)",
      );
    }
    throw e;
  }
}

/**
 * Checks that Redis and PostgreSQL both answer, so a command that needs both fails with a message
 * naming the store that does not (instead of a bare "connection refused" from deep inside).
 */
export async function probeStores(ctx: CommandContext): Promise<void> {
  {
    await using _redis = await openRedis(ctx);
  }
  await withDb(ctx, (sql) => sql`SELECT 1`);
}

export { sleep } from "@lib/lifecycle";

/** Reads a positive integer option; throws a UsageError naming the option otherwise. */
export function intOption(
  args: ParsedArgs,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  const raw = args.values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  const min = range.min ?? 1;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

/** Reads a string option. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** Reads a boolean flag. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Fails when more positionals were given than the command takes. */
export function expectPositionals(args: ParsedArgs, max: number, usage: string): void {
  if (args.positionals.length > max) {
    throw new UsageError(`unexpected argument "${args.positionals[max]}"; usage: ${usage}`);
  }
}
