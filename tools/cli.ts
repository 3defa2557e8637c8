/**
 * `deno task tools <command>`: the operator's command line for a running Kalency. This file only
 * parses the command line and dispatches; each command lives in `commands/<name>.ts`.
 * @module
 */
import { parseArgs } from "node:util";
import {
  type Command,
  type CommandContext,
  type GlobalOptions,
  InterruptedError,
  NotAvailableError,
  Output,
  type ParsedArgs,
  UsageError,
  type Writers,
} from "./command.ts";
import { commandHelp, GLOBAL_OPTIONS, overviewHelp } from "./help.ts";
import { DEFAULT_DATABASE_URL, DEFAULT_PREFIX, DEFAULT_REDIS_URL, PREFIX_PATTERN } from "@lib/config";
import { tailCommand } from "./commands/tail.ts";
import { streamsCommand } from "./commands/streams.ts";
import { deadCommand } from "./commands/dead.ts";
import { usersCommand } from "./commands/users.ts";
import { bookCommand } from "./commands/book.ts";
import { replayCommand } from "./commands/replay.ts";
import { verifyCommand } from "./commands/verify.ts";
import { simReportCommand } from "./commands/sim_report.ts";
import { loadCommand } from "./commands/load.ts";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  tailCommand,
  streamsCommand,
  deadCommand,
  usersCommand,
  bookCommand,
  replayCommand,
  verifyCommand,
  simReportCommand,
  loadCommand,
];

const BIN = "deno task tools";

/** What the CLI needs from its surroundings; tests replace any of it. */
export interface CliIo {
  writers: Writers;
  env: (name: string) => string | undefined;
  /** stdout is a terminal. */
  isTty: boolean;
  signal: AbortSignal;
  readLine: CommandContext["readLine"];
  now: () => number;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
}

/** Reads one line from standard input, echo off on a terminal when `hidden`. */
async function readStdinLine(
  prompt: string,
  options: { hidden?: boolean } = {},
): Promise<string | undefined> {
  const tty = Deno.stdin.isTerminal();
  if (tty) writeAll(Deno.stderr, prompt);
  if (tty && options.hidden) Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(1);
  try {
    while (true) {
      const n = await Deno.stdin.read(buf);
      if (n === null) return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : undefined;
      const b = buf[0];
      if (b === 3) throw new InterruptedError(); // Ctrl-C in raw mode
      if (b === 10 || b === 13) break;
      if ((b === 127 || b === 8) && tty) {
        bytes.pop();
        continue;
      }
      bytes.push(b);
    }
  } finally {
    if (tty && options.hidden) {
      Deno.stdin.setRaw(false);
      writeAll(Deno.stderr, "\n");
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function defaultIo(signal: AbortSignal): CliIo {
  return {
    writers: { stdout: (t) => writeAll(Deno.stdout, t), stderr: (t) => writeAll(Deno.stderr, t) },
    env: (name) => Deno.env.get(name),
    isTty: Deno.stdout.isTerminal(),
    signal,
    readLine: readStdinLine,
    now: () => Date.now(),
  };
}

const STRING_GLOBALS = new Set(
  Object.entries(GLOBAL_OPTIONS).filter(([, o]) => o.type === "string").map(([n]) => n),
);

/** Index of the command name: the first argument that is neither an option nor a global option's value. */
function findCommandIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") return i + 1 < argv.length ? i + 1 : -1;
    if (a.startsWith("--")) {
      if (!a.includes("=") && STRING_GLOBALS.has(a.slice(2))) i++;
      continue;
    }
    if (a.startsWith("-") && a.length > 1) continue;
    return i;
  }
  return -1;
}

/** Marks a negative number given as an argument while the options are parsed (see parseFor). */
const NEGATIVE_MARK = "\u0000";

function parseFor(argv: string[], options: Command["options"]): ParsedArgs {
  const spec: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries({ ...GLOBAL_OPTIONS, ...options })) {
    spec[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  // "--orders -5" would read -5 as an option: join a negative number to its option, so the option's
  // own check says what it accepts. A negative number anywhere else is an argument ("fund u1 USD -5"),
  // carried through the parser behind a marker.
  const stringOptions = new Set<string>();
  for (const [name, o] of Object.entries(spec)) {
    if (o.type !== "string") continue;
    stringOptions.add(`--${name}`);
    if (o.short) stringOptions.add(`-${o.short}`);
  }
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (stringOptions.has(argv[i]!) && next !== undefined && /^-[0-9.]/.test(next)) {
      joined.push(`${argv[i]}=${next}`);
      i++;
    } else if (/^-[0-9.]/.test(argv[i]!)) joined.push(NEGATIVE_MARK + argv[i]);
    else joined.push(argv[i]!);
  }
  try {
    const r = parseArgs({
      args: joined,
      options: spec,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
    const positionals = r.positionals.map((p) =>
      p.startsWith(NEGATIVE_MARK) ? p.slice(NEGATIVE_MARK.length) : p
    );
    return { values: r.values as ParsedArgs["values"], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'(-[^' ]+)/.exec(err.message);
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${m?.[1] ?? ""}`.trim());
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      // an on/off flag given a value (--json=true), or an option left without its value
      const kind = /does not take an argument/.test(err.message) ? "takes no value" : "needs a value";
      throw new UsageError(`option ${m?.[1] ?? ""} ${kind}`.replace("  ", " "));
    }
    throw new UsageError(err.message.split(". ")[0]);
  }
}

function globalsFrom(args: ParsedArgs, io: CliIo): GlobalOptions {
  const s = (k: string) => (typeof args.values[k] === "string" ? args.values[k] as string : undefined);
  const prefix = s("prefix") ?? io.env("KALENCY_PREFIX") ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new UsageError(`--prefix must be letters, digits, ':', '_', '-', '{' or '}', got "${prefix}"`);
  }
  const redisUrl = s("redis-url") ?? io.env("REDIS_URL") ?? DEFAULT_REDIS_URL;
  if (!/^rediss?:\/\//.test(redisUrl)) {
    throw new UsageError(`--redis-url must be a redis:// URL, got "${redisUrl}"`);
  }
  const databaseUrl = s("database-url") ?? io.env("DATABASE_URL") ?? DEFAULT_DATABASE_URL;
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new UsageError(`--database-url must be a postgres:// URL, got "${databaseUrl}"`);
  }
  const colorFlag = args.values.color;
  const color = typeof colorFlag === "boolean"
    ? colorFlag
    : io.isTty && io.env("NO_COLOR") === undefined && io.env("TERM") !== "dumb";
  return { redisUrl, databaseUrl, prefix, json: args.values.json === true, color };
}

/**
 * Runs the CLI with `argv` (arguments after `tools/cli.ts`) and returns the exit status. Never calls
 * `Deno.exit`, so tests call it directly with collecting writers (and, for the dispatcher's own
 * tests, other commands).
 */
export async function runCli(
  argv: string[],
  io: Partial<CliIo> = {},
  commands: Command[] = COMMANDS,
): Promise<number> {
  const full: CliIo = { ...defaultIo(io.signal ?? new AbortController().signal), ...io };
  const plain = new Output(full.writers, false, false, false);
  const at = findCommandIndex(argv);
  let name = at >= 0 ? argv[at] : undefined;
  let rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : argv;
  if (name === "help") {
    const target = rest.find((a) => !a.startsWith("-"));
    name = target;
    rest = [...rest.filter((a) => a !== target), "--help"];
  }
  if (name === undefined) {
    try {
      const args = parseFor(rest, {});
      plain.lines(overviewHelp(commands, BIN));
      return args.values.help ? 0 : 2;
    } catch (e) {
      plain.error(`${BIN}: ${(e as Error).message} (see ${BIN} --help)`);
      return 2;
    }
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    plain.error(
      `${BIN}: unknown command "${name}"; commands: ${
        commands.map((c) => c.name).join(", ")
      } (see ${BIN} --help)`,
    );
    return 2;
  }
  let ctx: CommandContext;
  let args: ParsedArgs;
  try {
    args = parseFor(rest, command.options);
    if (args.values.help) {
      plain.lines(commandHelp(command, BIN));
      return 0;
    }
    const options = globalsFrom(args, full);
    ctx = {
      options,
      out: new Output(full.writers, options.json, options.color, full.isTty),
      signal: full.signal,
      readLine: full.readLine,
      now: full.now,
    };
  } catch (e) {
    plain.error(`${BIN} ${command.name}: ${(e as Error).message} (see ${BIN} ${command.name} --help)`);
    return 2;
  }
  try {
    return await command.run(ctx, args);
  } catch (e) {
    ctx.out.endProgress();
    if (e instanceof InterruptedError) {
      // Ctrl-C (or SIGTERM) while the command waited: said once, the shell's code for it
      plain.error(`${BIN} ${command.name}: interrupted`);
      return 130;
    }
    if (e instanceof UsageError) {
      plain.error(`${BIN} ${command.name}: ${e.message} (see ${BIN} ${command.name} --help)`);
      return 2;
    }
    if (e instanceof NotAvailableError) {
      plain.error(`${BIN} ${command.name}: not available yet: ${e.message}`);
      return 2;
    }
    plain.error(`${BIN} ${command.name}: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}

if (import.meta.main) {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(130); // a second Ctrl-C: leave at once
    controller.abort();
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  const io = defaultIo(controller.signal);
  const stdout = io.writers.stdout;
  io.writers.stdout = (t) => {
    try {
      stdout(t);
    } catch (e) {
      // the reader went away (`| head`): stop quietly, as other command-line tools do
      if (e instanceof Deno.errors.BrokenPipe) Deno.exit(0);
      throw e;
    }
  };
  const code = await runCli(Deno.args, io);
  Deno.exit(code);
}
