/**
 * PostgreSQL access (postgres.js) and schema management (dbmate migrations under `migrations/`).
 * @module
 */
import postgres from "postgres";

export type Sql = postgres.Sql<Record<string, never>>;
export { copyField, copyText, CopyWriter, UNIQUE_VIOLATION } from "./copy.ts";

/** Repository root (two levels above this file). */
export const ROOT = new URL("../../", import.meta.url).pathname;
export const MIGRATIONS_DIR = `${ROOT}migrations`;

/** Opens a pool. Numeric columns come back as strings (exact), never as floats. */
export function connectDb(url: string, options: { max?: number; onnotice?: () => void } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 5,
    onnotice: options.onnotice ?? (() => {}),
    connect_timeout: 5,
    idle_timeout: 30,
    // bigint counts and numerics stay strings: money never passes through a float
    types: {},
  }) as unknown as Sql;
}

/** Locates the dbmate binary: $DBMATE_BIN, the npm package in node_modules, or dbmate on PATH. */
export function dbmateBinary(): string {
  const fromEnv = Deno.env.get("DBMATE_BIN");
  if (fromEnv) return fromEnv;
  try {
    for (const e of Deno.readDirSync(`${ROOT}node_modules/.deno`)) {
      if (e.name.startsWith("@dbmate+linux-x64@")) {
        return `${ROOT}node_modules/.deno/${e.name}/node_modules/@dbmate/linux-x64/bin/dbmate`;
      }
    }
  } catch { /* no node_modules yet */ }
  return "dbmate";
}

/** Runs dbmate with the project's migrations against `url`. Throws with dbmate's message on failure. */
export async function runDbmate(url: string, args: string[]): Promise<string> {
  const u = new URL(url);
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  const out = await new Deno.Command(dbmateBinary(), {
    args: ["--url", u.toString(), "--migrations-dir", MIGRATIONS_DIR, "--no-dump-schema", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`dbmate ${args.join(" ")} failed: ${text.trim()}`);
  return text;
}

/** Creates the database when missing, then applies every pending migration. */
export async function migrate(url: string): Promise<string> {
  await runDbmate(url, ["create"]).catch(() => {}); // exists already, or no CREATEDB right: `up` reports it
  return await runDbmate(url, ["up"]);
}

/** Replaces the database name in a postgres URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin` holding initdb
 * and pg_ctl), or undefined when none is installed. Debian keeps them off PATH.
 */
export function debianPostgresBinDir(root = "/usr/lib/postgresql"): string | undefined {
  let versions: string[];
  try {
    versions = [...Deno.readDirSync(root)].map((e) => e.name).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return undefined;
  }
  for (const v of versions.sort((a, b) => Number(b) - Number(a))) {
    const dir = `${root}/${v}/bin`;
    try {
      Deno.statSync(`${dir}/initdb`);
      Deno.statSync(`${dir}/pg_ctl`);
      return dir;
    } catch { /* next */ }
  }
  return undefined;
}
