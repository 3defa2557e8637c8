/**
 * `--help` texts of the tools CLI, built from each command's description.
 * @module
 */
import type { Command, OptionSpec } from "./command.ts";
import { table } from "./format.ts";

/** Options every command accepts, with their help lines. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  "redis-url": {
    type: "string",
    value: "URL",
    description: "Redis to use (default $REDIS_URL or redis://127.0.0.1:6379)",
  },
  "database-url": {
    type: "string",
    value: "URL",
    description: "PostgreSQL to use (default $DATABASE_URL or postgres://postgres@127.0.0.1:5432/kalency)",
  },
  prefix: {
    type: "string",
    value: "PREFIX",
    description: "key prefix of the Kalency instance (default $KALENCY_PREFIX or kalency:v1)",
  },
  json: { type: "boolean", description: "one JSON object per line instead of text" },
  color: { type: "boolean", description: "force colours on (--no-color: off; default: on a terminal)" },
  help: { type: "boolean", short: "h", description: "show help" },
};

function optionRows(options: Record<string, OptionSpec>): string[][] {
  return Object.entries(options).map(([name, o]) => {
    const flagText = `${o.short ? `-${o.short}, ` : "    "}--${name}${
      o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""
    }`;
    return [`  ${flagText}`, o.description + (o.multiple ? " (repeatable)" : "")];
  });
}

/** The help of one command. */
export function commandHelp(command: Command, bin: string): string[] {
  const lines = [`${bin} ${command.name}: ${command.summary}`, "", "Usage:"];
  for (const u of command.usage) lines.push(`  ${bin} ${u}`);
  if (command.description) lines.push("", ...command.description.split("\n"));
  if (Object.keys(command.options).length) {
    lines.push("", "Options:", ...table(undefined, optionRows(command.options)));
  }
  lines.push("", "Global options:", ...table(undefined, optionRows(GLOBAL_OPTIONS)));
  if (command.examples?.length) {
    lines.push("", "Examples:", ...command.examples.map((e) => `  ${bin} ${e}`));
  }
  return lines;
}

/** The overview: every command with its summary. */
export function overviewHelp(commands: Command[], bin: string): string[] {
  return [
    `${bin}: inspect and operate a running Kalency (streams, dead letters, users, books, replay, load)`,
    "",
    "Usage:",
    `  ${bin} <command> [options]`,
    `  ${bin} <command> --help`,
    "",
    "Commands:",
    ...table(undefined, commands.map((c) => [`  ${c.name}`, c.summary])),
    "",
    "Global options:",
    ...table(undefined, optionRows(GLOBAL_OPTIONS)),
    "",
    "Output is coloured on a terminal, plain text when piped, and one JSON object per line with --json.",
    "Exit status: 0 success, 1 failure or difference found, 2 bad command line or command not available.",
  ];
}
