import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

async function composeCommand(): Promise<string[]> {
  const plugin = await new Deno.Command("docker", {
    args: ["compose", "version"],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => undefined);
  if (plugin?.success) return ["docker", "compose"];
  return ["docker-compose"];
}

Deno.test("docker-compose.yml is accepted by `docker compose config`, for every profile", async () => {
  const [cmd, ...pre] = await composeCommand();
  for (const profile of [[], ["--profile", "monitoring"]]) {
    const out = await new Deno.Command(cmd, {
      args: [...pre, ...profile, "config"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    for (
      const s of [
        "redis",
        "postgres",
        "gateway",
        "matching-engine",
        "market-sim",
        "candle-aggregator",
        "ledger-writer",
        "web",
      ]
    ) {
      assert.match(text, new RegExp(`\\n  ${s}:\\n`), `service ${s}`);
    }
  }
});

Deno.test("docker-compose.yml: every Kalency service has a health check on its own /healthz", async () => {
  const { parse } = await import("yaml");
  const compose = parse(await Deno.readTextFile(`${ROOT}docker-compose.yml`)) as {
    services: Record<string, { healthcheck?: { test?: string[] }; ports?: string[] }>;
  };
  const ports: Record<string, number> = {
    "matching-engine": 9101,
    "market-sim": 9102,
    "candle-aggregator": 9103,
    "ledger-writer": 9104,
    gateway: 8080,
    web: 8000,
  };
  for (const [name, port] of Object.entries(ports)) {
    const service = compose.services[name];
    assert.deepEqual(service.ports, [`${port}:${port}`], name);
    const test = (service.healthcheck?.test ?? []).join(" ");
    assert.ok(test.includes(`http://127.0.0.1:${port}/healthz`), `${name}: ${test}`);
  }
});
