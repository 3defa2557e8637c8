/**
 * `tools verify`: checks that the ledger in PostgreSQL, the streams and the engine's read models agree
 * (the checks themselves live in tools/verify.ts).
 * @module
 */
import { type Command, type CommandContext, expectPositionals, type ParsedArgs } from "../command.ts";
import { importOptional } from "../optional.ts";

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "verify");
  const mod = await importOptional<{ runVerify: (o: Record<string, unknown>) => Promise<unknown> }>(
    "tools/verify.ts",
    ["runVerify"],
  );
  const result = await mod.runVerify({
    redisUrl: ctx.options.redisUrl,
    databaseUrl: ctx.options.databaseUrl,
    prefix: ctx.options.prefix,
    signal: ctx.signal,
  });
  ctx.out.record(result, JSON.stringify(result));
  return 0;
}

export const verifyCommand: Command = {
  name: "verify",
  summary: "check that the ledger, the streams and the read models agree",
  usage: ["verify"],
  options: {},
  run,
};
