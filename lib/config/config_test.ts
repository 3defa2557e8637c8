import assert from "node:assert/strict";
import { z } from "zod";
import { BaseConfig, BaseDbConfig, ConfigError, EnvBool, loadConfig, Port } from "./mod.ts";

Deno.test("loadConfig() applies defaults", () => {
  const c = loadConfig(BaseConfig, {});
  assert.equal(c.REDIS_URL, "redis://127.0.0.1:6379");
  assert.equal(c.KALENCY_PREFIX, "kalency:v1");
  assert.equal(c.LOG_LEVEL, "info");
});

Deno.test("loadConfig() names every bad variable and its value", () => {
  const schema = BaseConfig.extend({
    KALENCY_GATEWAY_PORT: Port.default(8080),
    FLAG: EnvBool.default(false),
  });
  try {
    loadConfig(schema, {
      REDIS_URL: "http://nope",
      KALENCY_GATEWAY_PORT: "eighty",
      LOG_LEVEL: "loud",
      LOG_FORMAT: "yaml",
    });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /Cannot load configuration/);
    assert.match(e.message, /REDIS_URL="http:\/\/nope": must be a redis:\/\/ URL/);
    assert.match(e.message, /KALENCY_GATEWAY_PORT="eighty"/);
    assert.match(e.message, /LOG_LEVEL="loud"/);
    assert.match(e.message, /LOG_FORMAT="yaml"/);
  }
});

Deno.test("loadConfig() shows no secret and no password of a URL in its message", () => {
  const schema = BaseDbConfig.extend({
    KALENCY_JWT_SECRET: z.string().min(16, "must be at least 16 characters"),
  });
  try {
    loadConfig(schema, {
      KALENCY_JWT_SECRET: "short",
      REDIS_URL: "http://user:S3cretPassw0rd@host:1",
      DATABASE_URL: "postgres://u:S3cretPassw0rd@127.0.0.1:99999/db",
    });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /KALENCY_JWT_SECRET=\(hidden, 5 characters\): must be at least 16 characters/);
    assert.match(e.message, /REDIS_URL="http:\/\/user:\*\*\*@host:1"/);
    assert.match(e.message, /DATABASE_URL="postgres:\/\/u:\*\*\*@127.0.0.1:99999\/db": is not a valid URL/);
    assert.doesNotMatch(e.message, /short|S3cretPassw0rd/);
  }
  try {
    loadConfig(BaseConfig, { REDIS_URL: "redis://:p/ss w@host:99999" });
    assert.fail("should throw");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /REDIS_URL="redis:\/\/:\*\*\*@host:99999"/,
      "a password with / and a space is hidden too",
    );
  }
  const multi = loadConfig(BaseDbConfig, { DATABASE_URL: "postgres://u@h1:5432,h2:5432/db" });
  assert.equal(
    multi.DATABASE_URL,
    "postgres://u@h1:5432,h2:5432/db",
    "several hosts, as postgres.js takes them",
  );
});

Deno.test("Port and EnvBool parse environment strings", () => {
  const s = z.object({ P: Port, B: EnvBool });
  assert.deepEqual(loadConfig(s, { P: "9101", B: "yes" }), { P: 9101, B: true });
  assert.deepEqual(loadConfig(s, { P: "0", B: "0" }), { P: 0, B: false });
  assert.throws(() => loadConfig(s, { P: "70000", B: "true" }), ConfigError);
});

Deno.test("only the processes that use PostgreSQL read DATABASE_URL", () => {
  const bad = { DATABASE_URL: "not a url" };
  assert.equal("DATABASE_URL" in loadConfig(BaseConfig, bad), false, "the engine and simulator ignore it");
  assert.throws(() => loadConfig(BaseDbConfig, bad), /DATABASE_URL="not a url": must be a postgres:\/\/ URL/);
  assert.equal(loadConfig(BaseDbConfig, {}).DATABASE_URL, "postgres://postgres@127.0.0.1:5432/kalency");
});
