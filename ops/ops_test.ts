import assert from "node:assert/strict";
import { parse } from "yaml";
import { DEFAULT_PORTS } from "@lib/config";
import { buildDashboard, DATASOURCE_UID } from "./grafana/dashboard.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const read = (path: string) => Deno.readTextFileSync(`${ROOT}${path}`);
const yaml = (path: string): any => parse(read(path));

/** Processes with /metrics, their compose service names and ports. */
const SCRAPED: Record<string, number> = {
  gateway: DEFAULT_PORTS.KALENCY_GATEWAY_PORT,
  "matching-engine": DEFAULT_PORTS.KALENCY_ENGINE_PORT,
  "market-sim": DEFAULT_PORTS.KALENCY_SIM_PORT,
  "candle-aggregator": DEFAULT_PORTS.KALENCY_CANDLES_PORT,
  "ledger-writer": DEFAULT_PORTS.KALENCY_LEDGER_PORT,
  web: DEFAULT_PORTS.KALENCY_WEB_PORT,
};

/** Every metric name a Kalency process registers (with the registry's `kalency_` prefix). */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && !e.name.startsWith(".") && e.name !== "node_modules") walk(path);
      else if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = Deno.readTextFileSync(path);
        for (const m of text.matchAll(/\.(?:counter|gauge|histogram)\(\s*"([a-z0-9_]+)"/g)) {
          names.add(`kalency_${m[1]}`);
        }
        for (const m of text.matchAll(/registry\.gauge\(\s*"(process_[a-z_]+)"/g)) {
          names.add(`kalency_${m[1]}`);
        }
      }
    }
  };
  for (const dir of ["lib", "services", "web"]) {
    try {
      walk(`${ROOT}${dir}`);
    } catch {
      // a folder not in this checkout
    }
  }
  return names;
}

function metricsIn(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/kalency_[a-z0-9_]*[a-z0-9]/g)) {
    found.add(m[0].replace(/_(bucket|sum|count)$/, ""));
  }
  return [...found].sort();
}

Deno.test("Prometheus scrapes /metrics of every process at its compose name and default port", () => {
  const config = yaml("ops/prometheus/prometheus.yml");
  const jobs = new Map<string, string[]>(
    config.scrape_configs.map((j: { job_name: string; static_configs: { targets: string[] }[] }) => [
      j.job_name,
      j.static_configs.flatMap((s) => s.targets),
    ]),
  );
  for (const [service, port] of Object.entries(SCRAPED)) {
    assert.deepEqual(jobs.get(service), [`${service}:${port}`], service);
  }
});

Deno.test("docker-compose.yml has Prometheus and Grafana in the monitoring profile only, with the ops files mounted", () => {
  const compose = yaml("docker-compose.yml");
  for (const name of ["prometheus", "grafana"]) {
    const s = compose.services[name];
    assert.deepEqual(s.profiles, ["monitoring"], name);
    for (const v of s.volumes as string[]) {
      const host = v.split(":")[0];
      assert.ok(host.startsWith("./ops/"), v);
      Deno.statSync(`${ROOT}${host.slice(2)}`);
    }
  }
  for (const service of Object.keys(SCRAPED)) {
    assert.equal(compose.services[service].profiles, undefined, `${service} runs without a profile`);
    const ports = (compose.services[service].ports ?? []) as string[];
    assert.ok(
      ports.some((p) => p.endsWith(`:${SCRAPED[service]}`)),
      `${service} publishes ${SCRAPED[service]}`,
    );
  }
  const grafana = compose.services.grafana;
  const dashboardsMount = (grafana.volumes as string[]).find((v) =>
    v.startsWith("./ops/grafana/dashboards")
  )!;
  const provider = yaml("ops/grafana/provisioning/dashboards/kalency.yml").providers[0];
  assert.equal(provider.options.path, dashboardsMount.split(":")[1]);
  assert.ok(
    String(grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).startsWith(provider.options.path),
  );
});

Deno.test("the provisioned datasource is the one every dashboard panel uses", () => {
  const ds = yaml("ops/grafana/provisioning/datasources/prometheus.yml").datasources[0];
  assert.equal(ds.uid, DATASOURCE_UID);
  assert.equal(ds.type, "prometheus");
  assert.equal(ds.url, "http://prometheus:9090");
  const dashboard = JSON.parse(read("ops/grafana/dashboards/kalency.json"));
  for (const p of dashboard.panels) {
    if (p.type === "row") continue;
    assert.equal(p.datasource.uid, DATASOURCE_UID, p.title);
    for (const t of p.targets) assert.equal(t.datasource.uid, DATASOURCE_UID, p.title);
  }
});

Deno.test("the committed dashboard JSON is what ops/grafana/dashboard.ts builds, and its layout is sound", () => {
  const committed: { panels: any[] } = JSON.parse(read("ops/grafana/dashboards/kalency.json"));
  assert.deepEqual(
    committed,
    buildDashboard(),
    "regenerate: deno run ops/grafana/dashboard.ts > ops/grafana/dashboards/kalency.json",
  );
  const ids = committed.panels.map((p: { id: number }) => p.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
  for (const p of committed.panels) {
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
  }
  const titles = committed.panels.map((p: { title: string }) => p.title);
  for (
    const figure of [
      "Orders / s",
      "Trades / s",
      "POST /v1/orders latency",
      "Consumer lag",
      "Dead letters (5m)",
      "WebSocket clients",
    ]
  ) {
    assert.ok(titles.includes(figure), figure);
  }
});

Deno.test("every metric the dashboard and docs/observability.md name is registered by a Kalency process", () => {
  const registered = registeredMetrics();
  const dashboard = read("ops/grafana/dashboards/kalency.json");
  const docs = read("docs/observability.md");
  for (const [where, text] of [["dashboard", dashboard], ["docs/observability.md", docs]]) {
    for (const name of metricsIn(text)) {
      assert.ok(registered.has(name), `${where} names ${name}, which no process registers`);
    }
  }
});
