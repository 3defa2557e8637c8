/**
 * The command the `up` banner suggests for the tools CLI. The tools read the same variables as the
 * services, so when `up` runs on another prefix, Redis or database than the defaults, the hint
 * carries those settings: run from another shell as printed, it reads this system's streams.
 * @module
 */
import { DEFAULT_DATABASE_URL, DEFAULT_PREFIX, DEFAULT_REDIS_URL, maskUrlPassword } from "@lib/config";

const DEFAULTS: Record<string, string> = {
  KALENCY_PREFIX: DEFAULT_PREFIX,
  REDIS_URL: DEFAULT_REDIS_URL,
  DATABASE_URL: DEFAULT_DATABASE_URL,
  // `load` places its orders through this gateway
  KALENCY_GATEWAY_URL: "http://127.0.0.1:8080",
};

/**
 * `deno task tools <args>`, preceded by the variables of `env` that differ from the defaults. A
 * password in a URL is shown as `***` (the banner is no place for it).
 */
export function toolsHint(env: Record<string, string | undefined>, args: string, deno = "deno"): string {
  const settings = Object.entries(DEFAULTS)
    .filter(([name, value]) => env[name] !== undefined && env[name] !== value)
    .map(([name]) => `${name}=${shellQuote(maskUrlPassword(env[name]!))}`);
  return [...settings, `${shellQuote(deno)} task tools ${args}`].join(" ");
}

/**
 * How a user in `cwd` runs the Deno that runs `up`: `deno` when that is on PATH, else its path
 * (`make up` installs Deno into .tools/deno, which is not on PATH), relative to `cwd` when inside it.
 */
export function denoCommand(onPath: string | undefined, execPath: string, cwd: string): string {
  if (onPath) return "deno";
  const dir = cwd.endsWith("/") ? cwd : `${cwd}/`;
  return execPath.startsWith(dir) ? `./${execPath.slice(dir.length)}` : execPath;
}

/** A word the shell reads back as `text`. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_:\/@.,=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
