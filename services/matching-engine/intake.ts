/**
 * Turns one entry of the command stream into a command for the engine, or into a dead letter.
 * The live loop and the recovery replay share it, so both skip exactly the same entries.
 * @module
 */
import { type EngineCommand, type EngineReply, STREAMS } from "@lib/contracts";
import { decodeEntry, type RawEntry, streamIdMs } from "@lib/redis";
import type { CommandMeta } from "./engine_api.ts";
import { type DeadCommand, replyKey } from "./outputs.ts";
import { quickCommand } from "./quick_check.ts";

export type Intake =
  | { ok: true; command: EngineCommand; meta: CommandMeta }
  | { ok: false; dead: DeadCommand };

/** Who dead-letters: the source field of dead-letter entries. */
export const SOURCE = {
  decode: "matching-engine/decode",
  apply: "matching-engine/apply",
} as const;

/** Decodes and checks one command entry. Pure. */
export function intake(prefix: string, entry: RawEntry): Intake {
  let command: EngineCommand | undefined;
  const payload = entry.message.payload;
  if (payload !== undefined) {
    try {
      command = quickCommand(JSON.parse(payload));
    } catch { /* not JSON: the contract's decoder says so below */ }
  }
  if (command === undefined) {
    const decoded = decodeEntry(STREAMS.orders, entry);
    if (!decoded.ok) return { ok: false, dead: deadWithReply(prefix, entry, decoded.reason, SOURCE.decode) };
    command = decoded.value;
  }
  if (command.replyTo !== undefined && replyKey(prefix, command.replyTo) === undefined) {
    const reason = `replyTo must name a reply stream "replies:<senderId>" (letters, digits, _ . : -), got ${
      JSON.stringify(command.replyTo)
    }`;
    return { ok: false, dead: { entry, reason, source: SOURCE.decode } };
  }
  return { ok: true, command, meta: { id: entry.id, ts: streamIdMs(entry.id) } };
}

/**
 * A dead letter that also answers the sender, when the entry still names a usable reply stream and
 * command id: a sender then gets a prompt rejection instead of waiting for a timeout.
 */
export function deadWithReply(prefix: string, entry: RawEntry, reason: string, source: string): DeadCommand {
  const dead: DeadCommand = { entry, reason, source };
  let json: unknown;
  try {
    json = JSON.parse(entry.message.payload ?? "");
  } catch {
    return dead;
  }
  if (typeof json !== "object" || json === null) return dead;
  const { cmdId, replyTo } = json as { cmdId?: unknown; replyTo?: unknown };
  if (typeof cmdId !== "string" || typeof replyTo !== "string") return dead;
  const key = replyKey(prefix, replyTo);
  if (!key) return dead;
  const reply: EngineReply = {
    ok: false,
    cmdId,
    reason: "INVALID_ORDER",
    message: source === SOURCE.apply
      ? "the engine could not process this command (internal error); it was not applied"
      : `the command was not applied: ${reason}`,
  };
  return { ...dead, reply: { key, reply } };
}
