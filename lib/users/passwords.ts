/**
 * argon2id password hashes (PHC strings), with no I/O: what lib/users and its hashing workers
 * (password_workers.ts) share.
 * @module
 */
import { argon2id, argon2Verify } from "hash-wasm";

/** argon2id cost. The defaults (12 MiB, 3 passes, 1 lane) take about 40 ms here. */
export interface PasswordHashOptions {
  /** Memory in KiB. @default {12288} */
  memorySize?: number;
  /** Passes over memory. @default {3} */
  iterations?: number;
  /** Lanes. @default {1} */
  parallelism?: number;
}

const DEFAULT_HASH: Required<PasswordHashOptions> = { memorySize: 12288, iterations: 3, parallelism: 1 };

/** Hashes a password with argon2id and a random salt; returns the PHC-encoded string. */
export async function hashPassword(password: string, options: PasswordHashOptions = {}): Promise<string> {
  const o = { ...DEFAULT_HASH, ...options };
  return await argon2id({
    password,
    salt: crypto.getRandomValues(new Uint8Array(16)),
    memorySize: o.memorySize,
    iterations: o.iterations,
    parallelism: o.parallelism,
    hashLength: 32,
    outputType: "encoded",
  });
}

/** Checks a password against a PHC-encoded argon2id hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  try {
    return await argon2Verify({ password, hash: encoded });
  } catch {
    return false;
  }
}
