/**
 * Structured logging: one JSON line per event on stdout, or a readable coloured line when stdout is a
 * terminal. This is the one module allowed to write to the console for services.
 * @module
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const COLOURS: Record<LogLevel, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Force pretty (true) or JSON (false) output; default: pretty on a TTY unless LOG_FORMAT=json. */
  pretty?: boolean;
  /** Where lines go; default stdout. Tests pass a collector. */
  write?: (line: string) => void;
}

function isTty(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** LOG_FORMAT=pretty|json overrides the TTY guess (the supervisor sets it for its children). */
function prettyByDefault(): boolean {
  let format: string | undefined;
  try {
    format = Deno.env.get("LOG_FORMAT");
  } catch { /* no env permission */ }
  if (format === "pretty") return true;
  if (format === "json") return false;
  return isTty();
}

function errorFields(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: errorText(value), stack: value.stack };
  return value;
}

/** Creates a logger for one process or component. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const min = LEVEL_ORDER[options.level ?? "info"];
  const pretty = options.pretty ?? prettyByDefault();
  const write = options.write ?? ((line: string) => console.log(line));
  function make(bound: Record<string, unknown>): Logger {
    function emit(level: LogLevel, msg: string, fields?: Record<string, unknown>) {
      if (LEVEL_ORDER[level] < min) return;
      const all: Record<string, unknown> = { ...bound, ...fields };
      for (const k of Object.keys(all)) all[k] = errorFields(all[k]);
      if (pretty) {
        const time = new Date().toISOString().slice(11, 23);
        const rest = Object.keys(all).length
          ? " " +
            Object.entries(all).map(([k, v]) =>
              `\x1b[90m${k}=\x1b[0m${typeof v === "string" ? v : JSON.stringify(v)}`
            )
              .join(" ")
          : "";
        write(`\x1b[90m${time}\x1b[0m ${COLOURS[level]}${level.padEnd(5)}\x1b[0m ${msg}${rest}`);
      } else {
        write(JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...all }));
      }
    }
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (f) => make({ ...bound, ...f }),
    };
  }
  return make({});
}

/**
 * The message of an error, or the thrown value as text (for log fields and status reports). Some
 * errors carry no message (node-redis' "socket closed unexpectedly", an abort): their name, code and
 * cause say what happened instead of an empty string.
 */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.message) return e.message;
  const code = (e as { code?: unknown }).code;
  const parts = [e.name !== "Error" ? e.name : e.constructor?.name ?? "Error"];
  if (code !== undefined) parts.push(`(${String(code)})`);
  if (e.cause !== undefined) parts.push(`caused by: ${errorText(e.cause)}`);
  return parts.join(" ");
}

/**
 * Lets one log line per key through every `everyMs` and counts the others, so a fault that fails
 * every request (a store that is down) is said a few times a minute, not thousands of times.
 */
export class LogThrottle {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  constructor(readonly everyMs: number, readonly now: () => number = () => performance.now()) {}

  /** Undefined to stay quiet, else how many lines of this key were kept back since the last one. */
  allow(key: string): number | undefined {
    const t = this.now();
    const e = this.#last.get(key);
    if (e && t - e.at < this.everyMs) {
      e.suppressed++;
      return undefined;
    }
    if (this.#last.size > 1000) this.#last.clear();
    this.#last.set(key, { at: t, suppressed: 0 });
    return e?.suppressed ?? 0;
  }
}
