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
