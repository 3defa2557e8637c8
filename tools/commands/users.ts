/**
 * `tools users`: create and list users, make one an admin, and fund a wallet through the matching
 * engine (a `deposit` command answered on the tools' own reply stream).
 * @module
 */
import {
  Asset,
  Decimal,
  type EngineReply,
  streamKey,
  STREAMS,
  UserId,
  type WalletView,
} from "@lib/contracts";
import { encodeEntry } from "@lib/redis";
import { createUser, findUser, listUsers, setRole, type User, UserError } from "@lib/users";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  flag,
  intOption,
  openRedis,
  type ParsedArgs,
  stringOption,
  UsageError,
  withDb,
} from "../command.ts";
import { formatDateTime, table } from "../format.ts";
import { type CommandDraft, openReplyLink, rejectionText } from "../engine_link.ts";

/** A user as `users list --json` prints it. */
export function userRecord(u: User): Record<string, unknown> {
  return { userId: u.userId, username: u.username, role: u.role, createdAt: u.createdAt.toISOString() };
}

/** Text lines of a user list. */
export function formatUsers(users: User[], style: CommandContext["out"]["style"]): string[] {
  if (users.length === 0) {
    return [style.dim("no users yet (create one: deno task tools users create <username>)")];
  }
  return table(
    ["USER ID", "USERNAME", "ROLE", "CREATED"].map(style.bold),
    users.map((
      u,
    ) => [
      u.userId,
      u.username,
      u.role === "admin" ? style.yellow(u.role) : u.role,
      formatDateTime(u.createdAt.getTime()),
    ]),
  );
}

/** Validates the arguments of `users fund` and builds the deposit command. */
export function depositDraft(
  userId: string,
  asset: string,
  amount: string,
): CommandDraft & { type: "deposit"; asset: string; amount: string } {
  const u = UserId.safeParse(userId);
  if (!u.success) throw new UsageError(`user id "${userId}": ${u.error.issues[0].message}`);
  const a = Asset.safeParse(asset.toUpperCase());
  if (!a.success) throw new UsageError(`asset "${asset}": ${a.error.issues[0].message}`);
  const m = Decimal.safeParse(amount);
  if (!m.success || /^0+(\.0+)?$/.test(m.data)) {
    throw new UsageError(`amount must be a positive decimal number like 1000 or 0.5, got "${amount}"`);
  }
  return { type: "deposit", userId: u.data, asset: a.data, amount: m.data };
}

/** Text of a wallet after a deposit. */
export function formatWallet(w: WalletView): string {
  return `${w.userId}: ` +
    w.balances.map((b) => `${b.asset} ${b.free}${b.locked !== "0" ? ` (+${b.locked} locked)` : ""}`).join(
      ", ",
    );
}

async function readPassword(ctx: CommandContext, args: ParsedArgs): Promise<string> {
  const given = stringOption(args, "password");
  if (given !== undefined) return given;
  const first = await ctx.readLine("password: ", { hidden: true });
  if (first === undefined) throw new UsageError("no password: pass --password P or type it when asked");
  if (ctx.out.tty) {
    const again = await ctx.readLine("again: ", { hidden: true });
    if (again !== first) throw new UsageError("the two passwords differ");
  }
  return first;
}

async function create(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const usage = "users create <username> [--password P] [--admin]";
  expectPositionals(args, 2, usage);
  const username = args.positionals[1];
  if (!username) throw new UsageError(`name the user; usage: ${usage}`);
  const password = await readPassword(ctx, args);
  const user: User = await withDb(ctx, async (sql) => {
    try {
      return await createUser(sql, { username, password, role: flag(args, "admin") ? "admin" : "user" });
    } catch (e) {
      // a malformed name or password is a bad command line (2); a taken name is a failure (1)
      if (e instanceof UserError && e.code !== "USERNAME_TAKEN") throw new UsageError(e.message);
      throw e;
    }
  });
  // fire-and-forget: the command waits on the stream until the engine applies it, which is idempotent
  await using redis = await openRedis(ctx);
  await redis.xAdd(
    streamKey(ctx.options.prefix, STREAMS.orders),
    "*",
    encodeEntry(STREAMS.orders, { type: "openAccount", cmdId: crypto.randomUUID(), userId: user.userId }),
  );
  ctx.out.record(
    { kind: "user", ...userRecord(user) },
    `created ${user.role === "admin" ? "admin" : "user"} ${
      ctx.out.style.bold(user.username)
    } with id ${user.userId}` +
      " (its wallet opens when the matching engine applies the openAccount command)",
  );
  return 0;
}

async function list(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 1, "users list");
  const limit = intOption(args, "limit", 1000, { max: 100_000 });
  const users = await withDb(ctx, (sql) => listUsers(sql, { limit }));
  if (ctx.out.json) { for (const u of users) ctx.out.record({ kind: "user", ...userRecord(u) }); }
  else ctx.out.lines(formatUsers(users, ctx.out.style));
  return 0;
}

async function admin(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const usage = "users admin <username> [--revoke]";
  expectPositionals(args, 2, usage);
  const login = args.positionals[1];
  if (!login) throw new UsageError(`name the user; usage: ${usage}`);
  const role = flag(args, "revoke") ? "user" : "admin";
  const found = await lookUp(ctx, login);
  const user = await withDb(ctx, async (sql) => (await setRole(sql, found.userId, role))!);
  ctx.out.record(
    { kind: "user", ...userRecord(user) },
    `${user.username} (${user.userId}) is now ${role === "admin" ? "an admin" : "a regular user"}`,
  );
  return 0;
}

/** A user by username or by id; an error naming the login when there is neither. */
async function lookUp(ctx: CommandContext, login: string) {
  return await withDb(ctx, async (sql) => {
    const found = (await findUser(sql, { username: login })) ?? (await findUser(sql, { userId: login }));
    if (!found) throw new Error(`no user with the name or id "${login}"`);
    return found;
  });
}

async function fund(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const usage = "users fund <username|userId> <asset> <amount>";
  expectPositionals(args, 4, usage);
  const [, login, asset, amount] = args.positionals;
  if (!login || !asset || !amount) throw new UsageError(`usage: ${usage}`);
  // checked before the user is looked up, so a bad amount is a usage error even without a database
  depositDraft(login, asset, amount);
  const user = await lookUp(ctx, login);
  const draft = depositDraft(user.userId, asset, amount);
  const timeoutMs = intOption(args, "timeout", 5000, { min: 1, max: 600_000 });
  await using redis = await openRedis(ctx);
  await using link = openReplyLink(redis, ctx.options.prefix);
  const reply: EngineReply = await link.send(draft, { timeoutMs, signal: ctx.signal });
  if (!reply.ok) {
    ctx.out.record({ kind: "fund", ...reply }, ctx.out.style.red(`rejected: ${rejectionText(reply)}`));
    return 1;
  }
  ctx.out.record(
    { kind: "fund", ...reply },
    `deposited ${draft.amount} ${draft.asset} to ${draft.userId}` +
      (reply.wallet ? `; wallet now ${formatWallet(reply.wallet)}` : ""),
  );
  return 0;
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  const sub = args.positionals[0];
  switch (sub) {
    case "create":
      return await create(ctx, args);
    case "list":
      return await list(ctx, args);
    case "admin":
      return await admin(ctx, args);
    case "fund":
      return await fund(ctx, args);
    case undefined:
      throw new UsageError("name a sub-command: create, list, admin or fund");
    default:
      throw new UsageError(`unknown sub-command "${sub}"; use create, list, admin or fund`);
  }
}

export const usersCommand: Command = {
  name: "users",
  summary: "create and list users, make admins, fund wallets",
  usage: [
    "users create <username> [--password P] [--admin]",
    "users list [--limit N]",
    "users admin <username> [--revoke]",
    "users fund <username|userId> <asset> <amount> [--timeout MS]",
  ],
  description: [
    "create stores the user in PostgreSQL with an argon2id password hash (as the gateway's signup does)",
    "and queues an openAccount command so the matching engine opens its wallet. Without --password the",
    "password is asked for (hidden) on a terminal, or read as one line from standard input.",
    "fund finds the user by name or id, sends a deposit command to stream:orders and waits for the",
    "engine's reply; a user that does not exist is refused.",
  ].join("\n"),
  examples: [
    "users create alice --admin",
    "users create bob --password 'correct horse battery'",
    "users list --json",
    "users fund alice USD 5000",
  ],
  options: {
    password: { type: "string", value: "P", description: "password of the new user (else asked)" },
    admin: { type: "boolean", description: "create the user as an admin" },
    revoke: { type: "boolean", description: "with admin: make the user a regular user again" },
    limit: { type: "string", value: "N", description: "list at most N users (default 1000)" },
    timeout: {
      type: "string",
      value: "MS",
      description: "how long fund waits for the engine (default 5000)",
    },
  },
  run,
};
