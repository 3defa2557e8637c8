/**
 * Engine snapshots in Redis. `keys.snapshot(prefix)` holds a small JSON manifest; the snapshot itself
 * (JSON of the EngineSnapshot, gzip-compressed by default) is split into chunks stored as the fields
 * "0", "1", ... of one of two hashes, `<snapshot key>:a` and `<snapshot key>:b`. A new snapshot is
 * written into the slot the manifest does not point at, and the manifest is switched last, so a crash
 * while saving leaves the previous snapshot whole. Chunks keep every value far below Redis's 512 MB
 * string limit.
 * @module
 */
import { Buffer } from "node:buffer";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { z } from "zod";
import { keys } from "@lib/contracts";
import type { RedisClient } from "@lib/redis";
import { RESP_TYPES } from "redis";
import type { EngineSnapshot } from "./engine_api.ts";

// zlib's async form compresses on a worker thread, off the engine's loop
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export const SnapshotManifest = z.object({
  format: z.literal(1),
  /** Id of the last command-stream entry the snapshot covers (applied or dead-lettered). */
  cursor: z.string(),
  /** The engine's own lastCommandId (the last command it applied). */
  lastCommandId: z.string().optional(),
  /** Wall-clock time the snapshot was taken (ms), for its age metric only. */
  takenAt: z.number(),
  encoding: z.enum(["gzip", "identity"]),
  slot: z.enum(["a", "b"]),
  chunks: z.number().int().positive(),
  /** Stored bytes (after compression) and JSON bytes (before). */
  bytes: z.number().int().nonnegative(),
  jsonBytes: z.number().int().nonnegative(),
});
export type SnapshotManifest = z.output<typeof SnapshotManifest>;

export interface SaveOptions {
  /** gzip the JSON (level 1: fast, about 4x smaller). @default {true} */
  compress?: boolean;
  /** @default {64 MiB} */
  chunkBytes?: number;
}

/** The Redis key of one snapshot slot. */
export function snapshotSlotKey(prefix: string, slot: "a" | "b"): string {
  return `${keys.snapshot(prefix)}:${slot}`;
}

/** Reads the manifest of the latest snapshot, if any. */
export async function readManifest(
  redis: RedisClient,
  prefix: string,
): Promise<SnapshotManifest | undefined> {
  const text = await redis.get(keys.snapshot(prefix));
  if (text === null) return undefined;
  const r = SnapshotManifest.safeParse(JSON.parse(text));
  if (!r.success) {
    throw new TypeError(`Cannot read the snapshot manifest at ${keys.snapshot(prefix)}: ${r.error.message}`);
  }
  return r.data;
}

/**
 * Stores a snapshot serialized as JSON. `cursor` is the last command-stream id it covers; the caller
 * must only save a snapshot whose cursor is already committed as the checkpoint.
 */
export async function saveSnapshot(
  redis: RedisClient,
  prefix: string,
  snapshot: { cursor: string; lastCommandId: string | undefined; json: string; takenAt: number },
  options: SaveOptions = {},
): Promise<SnapshotManifest> {
  const compress = options.compress ?? true;
  const chunkBytes = options.chunkBytes ?? 64 * 1024 * 1024;
  const raw = Buffer.from(snapshot.json, "utf8");
  const body = compress ? await gzipAsync(raw, { level: 1 }) : raw;
  const current = await readManifest(redis, prefix).catch(() => undefined);
  const slot = current?.slot === "a" ? "b" : "a";
  const slotKey = snapshotSlotKey(prefix, slot);
  const chunks = Math.max(1, Math.ceil(body.length / chunkBytes));
  await redis.unlink(slotKey);
  // one chunk per command so no single request is huge
  for (let i = 0; i < chunks; i++) {
    const part = body.subarray(i * chunkBytes, Math.min(body.length, (i + 1) * chunkBytes));
    await redis.hSet(slotKey, String(i), part);
  }
  const manifest: SnapshotManifest = {
    format: 1,
    cursor: snapshot.cursor,
    lastCommandId: snapshot.lastCommandId,
    takenAt: snapshot.takenAt,
    encoding: compress ? "gzip" : "identity",
    slot,
    chunks,
    bytes: body.length,
    jsonBytes: raw.length,
  };
  await redis.set(keys.snapshot(prefix), JSON.stringify(manifest));
  return manifest;
}

/** Loads the latest snapshot, or undefined when none was ever saved. */
export async function loadSnapshot(
  redis: RedisClient,
  prefix: string,
): Promise<{ manifest: SnapshotManifest; snapshot: EngineSnapshot } | undefined> {
  const manifest = await readManifest(redis, prefix);
  if (!manifest) return undefined;
  const slotKey = snapshotSlotKey(prefix, manifest.slot);
  const binary = redis.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const parts: Buffer[] = [];
  for (let i = 0; i < manifest.chunks; i++) {
    const part = await binary.hGet(slotKey, String(i)) as unknown as Buffer | null;
    if (part === null) {
      throw new Error(`Cannot load the snapshot: chunk ${i} of ${manifest.chunks} is missing in ${slotKey}`);
    }
    parts.push(part);
  }
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  if (body.length !== manifest.bytes) {
    throw new Error(
      `Cannot load the snapshot: ${slotKey} holds ${body.length} bytes, the manifest says ${manifest.bytes}`,
    );
  }
  const raw = manifest.encoding === "gzip" ? await gunzipAsync(body) : body;
  const snapshot = JSON.parse(raw.toString("utf8")) as EngineSnapshot;
  return { manifest, snapshot };
}
