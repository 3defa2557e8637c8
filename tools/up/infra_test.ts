import assert from "node:assert/strict";
import { freePort } from "@lib/testing";
import { portInUse, postgresAnswers, redisAnswers, startPostgres, startRedis } from "./infra.ts";

Deno.test("startRedis() runs redis-server with its data in the given folder, and stops it", async () => {
  const dir = await Deno.makeTempDir();
  const url = `redis://127.0.0.1:${freePort()}`;
  assert.equal(await redisAnswers(url), false);
  const server = await startRedis(url, dir);
  try {
    assert.equal(await redisAnswers(url), true);
  } finally {
    await server.stop();
  }
  assert.equal(await redisAnswers(url), false);
  assert.ok([...Deno.readDirSync(dir)].length > 0, "append-only files in the data folder");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("startPostgres() initialises a cluster in the folder, serves it, and stops it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o777);
  const url = `postgres://postgres@127.0.0.1:${freePort()}/kalency`;
  const server = await startPostgres(url, `${dir}/pg`);
  try {
    assert.equal(await postgresAnswers(url), true);
  } finally {
    await server.stop();
  }
  assert.equal(await postgresAnswers(url), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("portInUse() tells a taken port from a free one", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  assert.equal(portInUse("127.0.0.1", port), true);
  l.close();
  assert.equal(portInUse("127.0.0.1", port), false);
});
