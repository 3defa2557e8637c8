/**
 * `tools verify`: reconciles the streams, the ledger in PostgreSQL and the engine's read models
 * (the checks live in tools/verify.ts) and exits 1 on any difference.
 * @module
 */
import type { VerifyOptions, VerifyReport } from "../verify.ts";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  intOption,
  openRedis,
  type ParsedArgs,
  probeStores,
  requireEngineState,
} from "../command.ts";
import type { Style } from "../format.ts";
import { importOptional } from "../optional.ts";

/** Colours the report's verdict and failing checks. */
export function colourVerify(text: string, style: Style): string[] {
  return text.split("\n").map((line) => {
    if (line.includes("DIFFERENCES FOUND") || line.startsWith("  FAIL")) return style.red(line);
    if (line.includes("everything matches")) return style.green(line);
    if (line.startsWith("  note:")) return style.yellow(line);
    return line;
  });
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "verify");
  const maxListed = intOption(args, "max-listed", 200, { max: 1_000_000 });
  const mod = await importOptional<{
    runVerify: (o: VerifyOptions) => Promise<VerifyReport>;
    formatVerifyReport: (r: VerifyReport) => string;
  }>("tools/verify.ts", ["runVerify", "formatVerifyReport"]);
  await probeStores(ctx);
  {
    await using redis = await openRedis(ctx);
    await requireEngineState(redis, ctx.options.prefix);
  }
  const report = await mod.runVerify({
    redisUrl: ctx.options.redisUrl,
    databaseUrl: ctx.options.databaseUrl,
    prefix: ctx.options.prefix,
    signal: ctx.signal,
    maxListed,
  });
  ctx.out.record({ kind: "verify", ...report }, colourVerify(mod.formatVerifyReport(report), ctx.out.style));
  return report.ok ? 0 : 1;
}

export const verifyCommand: Command = {
  name: "verify",
  summary: "reconcile the streams, the ledger and the engine's read models",
  usage: ["verify [--max-listed N]"],
  description: [
    "Checks that every execution of stream:executions is in trade_ledger once (and nothing more), that",
    "the postings sum to zero per asset, that each user's free + locked in the engine's wallets equals",
    "the sum of their postings, and that each 1m trade candle matches the ledger's trades of that minute.",
    "Prints every difference with where it is (at most --max-listed per check, default 200) and exits 1",
    "when anything differs. A consumer group still behind is noted: its differences may only be lag.",
  ].join("\n"),
  examples: ["verify", "verify --json"],
  options: {
    "max-listed": {
      type: "string",
      value: "N",
      description: "list at most N differences per check (default 200)",
    },
  },
  run,
};
