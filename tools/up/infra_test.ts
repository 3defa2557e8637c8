import assert from "node:assert/strict";
import process from "node:process";
import { freePort } from "@lib/testing";
import { connectRedis } from "@lib/redis";
import {
  othersCanEnter,
  portInUse,
  postgresAnswers,
  postgresRefusal,
  reachableDataDir,
  redisAnswers,
  redisPersists,
  startEmbeddedPostgres,
  startPostgres,
  startRedis,
} from "./infra.ts";

async function redisInfo(url: string): Promise<string> {
  const r = await connectRedis(url);
  try {
    return await r.info("server");
  } finally {
    await r.close();
  }
}

Deno.test("startRedis() runs redis-server with its data in the given folder, and stops it", async () => {
  const dir = await Deno.makeTempDir();
  const url = `redis://127.0.0.1:${freePort()}`;
  assert.equal(await redisAnswers(url), false);
  const server = await startRedis(url, dir);
  try {
    assert.equal(await redisAnswers(url), true);
    assert.equal(await redisPersists(url), true, "an append-only file");
    // out of the terminal's reach: a Ctrl-C to up's process group does not stop it under the services
    const info = await redisInfo(url);
    const pid = Number(/process_id:(\d+)/.exec(info)![1]);
    const stat = (p: number) => Deno.readTextFileSync(`/proc/${p}/stat`).split(") ")[1].split(" ");
    assert.notEqual(stat(pid)[2], stat(Deno.pid)[2], "a process group of its own");
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

Deno.test({
  name: "startPostgres() run as root keeps the cluster where the postgres user can reach it",
  ignore: Deno.uid() !== 0,
  async fn() {
    // a checkout under a folder only root may enter, as root's home is on Debian
    const home = await Deno.makeTempDir();
    await Deno.chmod(home, 0o700);
    const fallbackRoot = await Deno.makeTempDir();
    await Deno.chmod(fallbackRoot, 0o755);
    const asked = `${home}/kalency/.data/postgres`;
    const url = `postgres://postgres@127.0.0.1:${freePort()}/kalency`;
    const moved: string[] = [];
    const server = await startPostgres(url, asked, {
      fallbackRoot,
      onMoved: (dir, why) => moved.push(dir, why),
    });
    try {
      assert.equal(await postgresAnswers(url), true);
      assert.equal(server.dataDir, await reachableDataDir(asked, fallbackRoot));
      assert.match(server.dataDir!, new RegExp(`^${fallbackRoot}/kalency-[0-9a-f]{12}/postgres$`));
      assert.deepEqual(moved, [
        server.dataDir,
        `the postgres user cannot reach ${asked} (a folder above it is private to its owner)`,
      ]);
    } finally {
      await server.stop();
      await Deno.remove(home, { recursive: true });
      await Deno.remove(fallbackRoot, { recursive: true });
    }
  },
});

Deno.test("startEmbeddedPostgres() serves a cluster that takes up's URL without a password", async () => {
  // the package hooks SIGINT, SIGTERM and SIGHUP on import to exit at once; up handles them itself
  const hooked = () => ["SIGINT", "SIGTERM", "SIGHUP"].map((e) => process.listenerCount(e));
  const before = hooked();
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o777);
  const port = freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/kalency`;
  const server = await startEmbeddedPostgres(url, `${dir}/pg`, port);
  try {
    assert.equal(await postgresAnswers(url), true);
    assert.equal(await postgresRefusal(url), undefined, "logged in without a password");
    assert.equal(server.dataDir, `${dir}/pg`);
    assert.deepEqual(hooked(), before, "no signal listener left behind");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("othersCanEnter() finds a private folder above a path, as a server user would meet it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o700);
    assert.equal(othersCanEnter(`${dir}/kalency/.data/postgres-embedded`), false);
    await Deno.chmod(dir, 0o755);
    assert.equal(othersCanEnter(`${dir}/kalency/.data/postgres-embedded`), true, "folders not made yet");
    await Deno.mkdir(`${dir}/kalency`, { mode: 0o750 });
    await Deno.chmod(`${dir}/kalency`, 0o750);
    assert.equal(othersCanEnter(`${dir}/kalency/.data/postgres-embedded`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("portInUse() tells a taken port from a free one", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  assert.equal(portInUse("127.0.0.1", port), true);
  l.close();
  assert.equal(portInUse("127.0.0.1", port), false);
});

Deno.test("redisPersists() tells a server that keeps nothing on disk", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    stdout: "null",
  }).spawn();
  const url = `redis://127.0.0.1:${port}`;
  try {
    for (let i = 0; i < 50 && !await redisAnswers(url); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await redisPersists(url), false);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(await redisPersists(url), undefined, "no answer: cannot tell");
});
