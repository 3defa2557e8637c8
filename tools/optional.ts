/**
 * Loads a module of the repository that a command relies on but that may not be in the checkout
 * (a partial build of the system): a missing file or export becomes a clear "not available yet".
 * @module
 */
import { NotAvailableError } from "./command.ts";

const ROOT = new URL("../", import.meta.url);

/** Imports `path` (relative to the repository root) and returns its named exports; checks they are functions. */
export async function importOptional<T extends Record<string, unknown>>(
  path: string,
  names: string[],
): Promise<T> {
  const url = new URL(path, ROOT);
  try {
    await Deno.stat(url);
  } catch {
    throw new NotAvailableError(`${path} is not in this checkout yet`);
  }
  // a computed specifier: the module is only needed (and type-checked) when it exists
  const mod = await import(url.href) as Record<string, unknown>;
  const missing = names.filter((n) => typeof mod[n] !== "function");
  if (missing.length) throw new NotAvailableError(`${path} does not export ${missing.join(", ")} yet`);
  return mod as T;
}
