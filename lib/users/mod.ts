/**
 * Users and their credentials in PostgreSQL: creation with an argon2id password hash, password
 * checks, roles, and the canonical string API-key requests are signed over. The gateway and the
 * tools CLI share it.
 *
 * @example
 * ```ts
 * const user = await createUser(sql, { username: "alice", password: "correct horse battery" });
 * const same = await verifyCredentials(sql, "alice", "correct horse battery"); // the user, or undefined
 * ```
 * @module
 */
import type { Sql } from "@lib/db";
import type { PasswordHashOptions } from "./passwords.ts";
import { IN_THREAD, type PasswordHasher } from "./password_workers.ts";

export { hashPassword, type PasswordHashOptions, verifyPassword } from "./passwords.ts";
export { IN_THREAD, type PasswordHasher, PasswordWorkers } from "./password_workers.ts";

/** The argon2id cost, and where the hashing runs (default: in the calling thread). */
export type PasswordOptions = PasswordHashOptions & { hasher?: PasswordHasher };

function hashWith(password: string, options: PasswordOptions): Promise<string> {
  const { hasher = IN_THREAD, ...cost } = options;
  return hasher.hash(password, cost);
}

export type Role = "user" | "admin";

export interface User {
  userId: string;
  username: string;
  role: Role;
  createdAt: Date;
}

export const USERNAME_REGEXP = /^[A-Za-z0-9_.-]{3,32}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** Thrown for a username that is taken or malformed, or a password outside the allowed length. */
export class UserError extends Error {
  constructor(readonly code: "USERNAME_TAKEN" | "INVALID_USERNAME" | "INVALID_PASSWORD", message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** A new user id: "usr_" and 16 hex digits. */
export function newUserId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return "usr_" + [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// A fixed hash to verify against when the user does not exist, so an unknown username costs the
// same time as a wrong password and timing does not tell which usernames exist.
let dummyHash: Promise<string> | undefined;

/**
 * Everything wrong with a new username and password, both at once (a form can then show every
 * problem in one round trip); empty when both are acceptable.
 */
export function credentialProblems(username: string, password: string): UserError[] {
  const problems: UserError[] = [];
  const checks = [
    () => checkUsername(username),
    () => checkPassword(password),
    () => checkGuessable(password, username),
  ];
  for (const check of checks) {
    try {
      check();
    } catch (e) {
      if (e instanceof UserError) problems.push(e);
      else throw e;
    }
  }
  return problems;
}

function checkUsername(username: string): void {
  if (!USERNAME_REGEXP.test(username)) {
    throw new UserError(
      "INVALID_USERNAME",
      "username must be 3 to 32 characters: letters, digits, '_', '.' or '-'",
    );
  }
  // a login may name a user id instead of a username: a username shaped like one could shadow it
  if (/^usr_/i.test(username)) {
    throw new UserError("INVALID_USERNAME", "usernames starting with usr_ are kept for user ids");
  }
}

/** Passwords that guessing tries first (8 characters or more: shorter ones fail the length rule). */
const COMMON_PASSWORDS = new Set([
  "12345678",
  "123456789",
  "1234567890",
  "password",
  "password1",
  "password123",
  "qwertyuiop",
  "qwerty123",
  "iloveyou",
  "11111111",
  "00000000",
  "abc12345",
  "abcd1234",
  "letmein1",
  "welcome1",
  "sunshine",
  "football",
  "baseball",
  "princess",
  "1q2w3e4r",
]);

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new UserError(
      "INVALID_PASSWORD",
      `password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters long`,
    );
  }
}

/**
 * The sign-up's extra rule (operators' own accounts keep the length rule only): not a password that
 * guessing tries first.
 */
function checkGuessable(password: string, username: string): void {
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || new Set(password).size === 1 || lower === username.toLowerCase()) {
    throw new UserError(
      "INVALID_PASSWORD",
      "password is too easy to guess: not a common password, one repeated character or the username",
    );
  }
}

function toUser(row: Record<string, unknown>): User {
  return {
    userId: String(row.user_id),
    username: String(row.username),
    role: row.role === "admin" ? "admin" : "user",
    createdAt: row.created_at as Date,
  };
}

/**
 * Creates a user. Throws {@linkcode UserError} `USERNAME_TAKEN` when the name is in use
 * (case-insensitively).
 */
export async function createUser(
  sql: Sql,
  input: { username: string; password: string; role?: Role; userId?: string },
  options: PasswordOptions = {},
): Promise<User> {
  checkUsername(input.username);
  checkPassword(input.password);
  const hash = await hashWith(input.password, options);
  const userId = input.userId ?? newUserId();
  const rows = await sql`
    INSERT INTO users (user_id, username, password_hash, role)
    SELECT ${userId}, ${input.username}, ${hash}, ${input.role ?? "user"}
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower(${input.username}))
    ON CONFLICT DO NOTHING
    RETURNING user_id, username, role, created_at`;
  if (rows.length === 0) {
    throw new UserError("USERNAME_TAKEN", `username "${input.username}" is already taken`);
  }
  return toUser(rows[0]);
}

/**
 * Creates the user when missing; when it exists, sets its role and password to the given ones.
 * Idempotent: what a process runs at start for its configured admin.
 *
 * A password it replaces also ends the account's refresh tokens and API keys: the name may have
 * been signed up by someone else before it was configured, and that person must not keep a session
 * (which would refresh into the admin role) or a key (which would sign as an admin).
 */
export async function ensureUser(
  sql: Sql,
  input: { username: string; password: string; role: Role },
  options: PasswordOptions = {},
): Promise<{ user: User; created: boolean }> {
  const existing = await findUser(sql, { username: input.username });
  if (!existing) {
    try {
      return { user: await createUser(sql, input, options), created: true };
    } catch (e) {
      if (!(e instanceof UserError && e.code === "USERNAME_TAKEN")) throw e;
    }
  }
  const found = existing ?? (await findUser(sql, { username: input.username }))!;
  const row = await sql`SELECT password_hash FROM users WHERE user_id = ${found.userId}`;
  const samePassword = await (options.hasher ?? IN_THREAD).verify(
    input.password,
    String(row[0].password_hash),
  );
  if (!samePassword) {
    await setPassword(sql, found.userId, input.password, options);
    await sql`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'logout-all'
              WHERE user_id = ${found.userId} AND revoked_at IS NULL`;
    await sql`UPDATE api_keys SET revoked_at = now() WHERE user_id = ${found.userId} AND revoked_at IS NULL`;
  }
  const user = found.role === input.role ? found : await setRole(sql, found.userId, input.role);
  return { user: user!, created: false };
}

/** Finds a user by id or by username (case-insensitive). */
export async function findUser(
  sql: Sql,
  by: { userId: string } | { username: string },
): Promise<User | undefined> {
  const rows = "userId" in by
    ? await sql`SELECT user_id, username, role, created_at FROM users WHERE user_id = ${by.userId}`
    : await sql`SELECT user_id, username, role, created_at FROM users
                WHERE lower(username) = lower(${by.username})`;
  return rows.length ? toUser(rows[0]) : undefined;
}

/**
 * Returns the user when the login (username, or user id) and password match, else undefined.
 * Takes about as long when the user does not exist.
 */
export async function verifyCredentials(
  sql: Sql,
  login: string,
  password: string,
  /**
   * Called before the password is checked, with the user id the login names or undefined when it
   * names none (both cases, so that a caller doing the same work in each tells nothing by its
   * timing); may throw to refuse.
   */
  onAccount?: (userId: string | undefined) => void | Promise<void>,
  hasher: PasswordHasher = IN_THREAD,
): Promise<User | undefined> {
  const rows = await sql`
    SELECT user_id, username, role, created_at, password_hash FROM users
    WHERE lower(username) = lower(${login}) OR user_id = ${login}
    ORDER BY user_id = ${login} DESC
    LIMIT 1`;
  await onAccount?.(rows.length > 0 ? String(rows[0].user_id) : undefined);
  if (rows.length === 0) {
    dummyHash ??= hasher.hash("not a real password");
    await hasher.verify(password, await dummyHash);
    return undefined;
  }
  return (await hasher.verify(password, String(rows[0].password_hash))) ? toUser(rows[0]) : undefined;
}

/** Changes a user's role; returns the user, or undefined when there is no such user. */
export async function setRole(sql: Sql, userId: string, role: Role): Promise<User | undefined> {
  const rows = await sql`UPDATE users SET role = ${role} WHERE user_id = ${userId}
                         RETURNING user_id, username, role, created_at`;
  return rows.length ? toUser(rows[0]) : undefined;
}

/**
 * Like {@linkcode setRole}, but never takes the admin role from the last admin ("last-admin"): the
 * admins are locked for the change, so two admins demoting each other cannot leave none.
 */
export async function setRoleKeepingAnAdmin(
  sql: Sql,
  userId: string,
  role: Role,
): Promise<User | undefined | "last-admin"> {
  if (role === "admin") return await setRole(sql, userId, role);
  return await sql.begin(async (tx) => {
    const admins = await tx`SELECT user_id FROM users WHERE role = 'admin' ORDER BY user_id FOR UPDATE`;
    if (admins.length === 1 && admins[0].user_id === userId) return "last-admin" as const;
    return await setRole(tx as unknown as Sql, userId, role);
  });
}

/** Replaces a user's password. Returns false when there is no such user. */
export async function setPassword(
  sql: Sql,
  userId: string,
  password: string,
  options: PasswordOptions = {},
): Promise<boolean> {
  checkPassword(password);
  const hash = await hashWith(password, options);
  const rows = await sql`UPDATE users SET password_hash = ${hash} WHERE user_id = ${userId} RETURNING 1`;
  return rows.length > 0;
}

/** Lists users, oldest first. */
export async function listUsers(sql: Sql, options: { limit?: number } = {}): Promise<User[]> {
  const rows = await sql`SELECT user_id, username, role, created_at FROM users
                         ORDER BY created_at, user_id LIMIT ${options.limit ?? 1000}`;
  return rows.map(toUser);
}

export { apiKeySignature, canonicalRequest, type SignedRequest } from "./signing.ts";
