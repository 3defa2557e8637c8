/**
 * `tools sim-report`: how the simulated market behaved over the last minutes (the report itself
 * lives in tools/sim_report.ts).
 * @module
 */
import { Symbol as SymbolSchema } from "@lib/contracts";
import {
  type Command,
  type CommandContext,
  expectPositionals,
  intOption,
  type ParsedArgs,
  stringOption,
  UsageError,
} from "../command.ts";
import { importOptional } from "../optional.ts";

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "sim-report --symbol S --minutes N");
  const symbol = stringOption(args, "symbol")?.toUpperCase();
  if (!symbol || !SymbolSchema.safeParse(symbol).success) {
    throw new UsageError("--symbol must be BASE-QUOTE, e.g. BTC-USD");
  }
  const minutes = intOption(args, "minutes", 5, { max: 7 * 24 * 60 });
  const mod = await importOptional<{ runSimReport: (o: Record<string, unknown>) => Promise<unknown> }>(
    "tools/sim_report.ts",
    ["runSimReport"],
  );
  const result = await mod.runSimReport({
    redisUrl: ctx.options.redisUrl,
    databaseUrl: ctx.options.databaseUrl,
    prefix: ctx.options.prefix,
    symbol,
    minutes,
  });
  ctx.out.record(result, JSON.stringify(result));
  return 0;
}

export const simReportCommand: Command = {
  name: "sim-report",
  summary: "report how the simulated market of a symbol behaved over the last minutes",
  usage: ["sim-report --symbol S [--minutes N]"],
  examples: ["sim-report --symbol BTC-USD --minutes 10"],
  options: {
    symbol: { type: "string", value: "S", description: "the market, e.g. BTC-USD" },
    minutes: { type: "string", value: "N", description: "how far back (default 5)" },
  },
  run,
};
