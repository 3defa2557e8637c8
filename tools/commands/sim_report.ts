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
  probeStores,
  stringOption,
  UsageError,
} from "../command.ts";
import { importOptional } from "../optional.ts";

/** What tools/sim_report.ts takes (it prints the report through `write`). */
interface SimReportOptions {
  redisUrl: string;
  databaseUrl?: string;
  prefix: string;
  symbol: string;
  minutes: number;
  json?: boolean;
  write?: (line: string) => void;
}

async function run(ctx: CommandContext, args: ParsedArgs): Promise<number> {
  expectPositionals(args, 0, "sim-report --symbol S --minutes N");
  const symbol = stringOption(args, "symbol")?.toUpperCase();
  if (!symbol) throw new UsageError("sim-report needs --symbol, e.g. --symbol BTC-USD");
  if (!SymbolSchema.safeParse(symbol).success) {
    throw new UsageError(`--symbol must be BASE-QUOTE, e.g. BTC-USD, got "${symbol}"`);
  }
  const minutes = intOption(args, "minutes", 60, { max: 7 * 24 * 60 });
  const mod = await importOptional<{ runSimReport: (o: SimReportOptions) => Promise<unknown> }>(
    "tools/sim_report.ts",
    ["runSimReport"],
  );
  await probeStores(ctx);
  await mod.runSimReport({
    redisUrl: ctx.options.redisUrl,
    databaseUrl: ctx.options.databaseUrl,
    prefix: ctx.options.prefix,
    symbol,
    minutes,
    json: ctx.out.json,
    write: (line) => ctx.out.writers.stdout(line + "\n"),
  });
  return 0;
}

export const simReportCommand: Command = {
  name: "sim-report",
  summary: "check the simulated market's stylized facts (fat tails, volatility clustering, spreads)",
  usage: ["sim-report --symbol S [--minutes N]"],
  description: [
    "From the trades of the last N minutes of a symbol (stream:executions, or the trade_ledger table when",
    "the stream no longer covers the window) and the book stream: excess kurtosis and autocorrelations of",
    "one-minute returns, quoted and effective spreads and trades per second, beside textbook values.",
  ].join("\n"),
  examples: ["sim-report --symbol BTC-USD --minutes 10"],
  options: {
    symbol: { type: "string", value: "S", description: "the market, e.g. BTC-USD" },
    minutes: { type: "string", value: "N", description: "how far back (default 60)" },
  },
  run,
};
