/**
 * One password-hashing worker of {@linkcode PasswordWorkers}: hashes and verifies on its own thread,
 * one request at a time, answering each with its id.
 * @module
 */
/// <reference lib="deno.worker" />
import { hashPassword, type PasswordHashOptions, verifyPassword } from "./passwords.ts";

/** A request to the worker. */
export type HashRequest =
  | { id: number; op: "hash"; password: string; options?: PasswordHashOptions }
  | { id: number; op: "verify"; password: string; encoded: string };

/** The worker's answer: the PHC string (hash), whether it matched (verify), or what went wrong. */
export type HashAnswer = { id: number; result: string | boolean } | { id: number; error: string };

self.onmessage = async (e: MessageEvent<HashRequest>) => {
  const r = e.data;
  try {
    const result = r.op === "hash"
      ? await hashPassword(r.password, r.options)
      : await verifyPassword(r.password, r.encoded);
    self.postMessage({ id: r.id, result } satisfies HashAnswer);
  } catch (err) {
    self.postMessage(
      { id: r.id, error: err instanceof Error ? err.message : String(err) } satisfies HashAnswer,
    );
  }
};
