/**
 * Builds the browser side of the islands: one tiny entry per `islands/*.tsx` that hydrates every
 * `[data-island=Name]` marker, bundled by esbuild with code splitting (preact and shared modules land
 * in shared chunks), minified, with content hashes in the file names. Writes `manifest.json` (what
 * `renderDocument()` reads) next to the bundles and copies uPlot's stylesheet there.
 *
 * Run: `deno task build:web` (writes web/static/islands/).
 * @module
 */
import * as esbuild from "esbuild";
import type { AssetManifest } from "./framework/island.tsx";

const WEB_DIR = new URL(".", import.meta.url).pathname;
const ROOT_DIR = new URL("..", import.meta.url).pathname;

export const DEFAULT_OUT_DIR = `${WEB_DIR}static/islands`;
export const MANIFEST_FILE = "manifest.json";

export interface BuildOptions {
  /** Where bundles and the manifest go. @default {DEFAULT_OUT_DIR} */
  outDir?: string;
  /** URL prefix the bundles are served under. @default {"/static/islands"} */
  base?: string;
  /** @default {true} */
  minify?: boolean;
}

export interface BuildResult {
  manifest: AssetManifest;
  /** Every written file with its raw and gzip size in bytes. */
  files: { file: string; bytes: number; gzipBytes: number }[];
}

/** Island names: the `.tsx` files directly in web/islands. */
export function listIslands(dir = `${WEB_DIR}islands`): string[] {
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".tsx") && !e.name.endsWith("_test.tsx"))
    .map((e) => e.name.slice(0, -4))
    .sort();
}

/** gzip size of some bytes (level used by CompressionStream, close to what servers send). */
export async function gzipSize(bytes: Uint8Array): Promise<number> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** The repo's `@lib/*` import-map entries, so islands can import lib/money and lib/contracts types. */
function libAliases(): Record<string, string> {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT_DIR}deno.json`));
  const out: Record<string, string> = {};
  for (const [name, target] of Object.entries<string>(config.imports ?? {})) {
    if (name.startsWith("@lib/") && target.startsWith("./")) out[name] = ROOT_DIR + target.slice(2);
  }
  return out;
}

function entrySource(name: string): string {
  // JSON props come from the server's <Island>; hydrate() reuses the server markup.
  return `import { h, hydrate } from "preact";
import C from ${JSON.stringify(`${WEB_DIR}islands/${name}.tsx`)};
for (const el of document.querySelectorAll('[data-island="${name}"]')) {
  hydrate(h(C, JSON.parse(el.dataset.props || "{}")), el);
}
`;
}

/** Bundles every island and writes the manifest. */
export async function buildIslands(options: BuildOptions = {}): Promise<BuildResult> {
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const base = options.base ?? "/static/islands";
  const islands = listIslands();
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: islands.map((name) => ({ in: `island:${name}`, out: name })),
    plugins: [{
      name: "island-entries",
      setup(build) {
        build.onResolve(
          { filter: /^island:/ },
          (args) => ({ path: args.path.slice(7), namespace: "island" }),
        );
        build.onLoad({ filter: /.*/, namespace: "island" }, (args) => ({
          contents: entrySource(args.path),
          loader: "ts",
          resolveDir: WEB_DIR,
        }));
      },
    }],
    outdir: outDir,
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    jsx: "automatic",
    jsxImportSource: "preact",
    alias: libAliases(),
    nodePaths: [`${ROOT_DIR}node_modules`],
    metafile: true,
    write: true,
    logLevel: "warning",
  });
  await esbuild.stop();

  const manifest: AssetManifest = { base, islands: {}, css: ["uPlot.min.css"] };
  const outputs = result.metafile.outputs;
  const fileOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);
  // Static imports are followed transitively so the page can preload every chunk at once.
  const reachable = (path: string, dynamic: boolean, seen = new Set<string>()): Set<string> => {
    for (const imp of outputs[path]?.imports ?? []) {
      if (imp.external || seen.has(imp.path)) continue;
      if (imp.kind !== "import-statement" && !(dynamic && imp.kind === "dynamic-import")) continue;
      seen.add(imp.path);
      reachable(imp.path, dynamic, seen);
    }
    return seen;
  };
  for (const [path, out] of Object.entries(outputs)) {
    const match = out.entryPoint?.match(/^island:(.+)$/);
    if (!match) continue;
    const imports = reachable(path, false);
    const lazy = [...reachable(path, true)].filter((p) => !imports.has(p));
    manifest.islands[match[1]] = {
      file: fileOf(path),
      imports: [...imports].map(fileOf).sort(),
      ...(lazy.length ? { lazy: lazy.map(fileOf).sort() } : {}),
    };
  }
  await Deno.copyFile(`${ROOT_DIR}node_modules/uplot/dist/uPlot.min.css`, `${outDir}/uPlot.min.css`);
  await Deno.writeTextFile(`${outDir}/${MANIFEST_FILE}`, JSON.stringify(manifest, null, 2) + "\n");

  const files: BuildResult["files"] = [];
  for (const e of [...Deno.readDirSync(outDir)].sort((a, b) => a.name.localeCompare(b.name))) {
    const bytes = await Deno.readFile(`${outDir}/${e.name}`);
    files.push({ file: e.name, bytes: bytes.byteLength, gzipBytes: await gzipSize(bytes) });
  }
  return { manifest, files };
}

/**
 * The JavaScript a page with these islands loads: every entry, shared chunk and on-demand chunk,
 * each counted once, with raw and gzip bytes.
 */
export async function pageWeight(
  outDir: string,
  manifest: AssetManifest,
  islands: string[],
): Promise<{ files: string[]; bytes: number; gzipBytes: number }> {
  const files = new Set<string>();
  for (const name of islands) {
    const entry = manifest.islands[name];
    if (!entry) throw new Error(`island ${name} is not in the build`);
    for (const f of [entry.file, ...entry.imports, ...(entry.lazy ?? [])]) files.add(f);
  }
  let bytes = 0, gzipBytes = 0;
  for (const f of files) {
    const data = await Deno.readFile(`${outDir}/${f}`);
    bytes += data.byteLength;
    gzipBytes += await gzipSize(data);
  }
  return { files: [...files].sort(), bytes, gzipBytes };
}

/** Reads the manifest a build wrote. */
export async function readManifest(outDir = DEFAULT_OUT_DIR): Promise<AssetManifest> {
  return JSON.parse(await Deno.readTextFile(`${outDir}/${MANIFEST_FILE}`));
}

if (import.meta.main) {
  const started = performance.now();
  const { manifest, files } = await buildIslands();
  const kb = (n: number) => (n / 1024).toFixed(1).padStart(7);
  // deno-lint-ignore no-console
  console.log(
    `built ${Object.keys(manifest.islands).length} islands in ${
      Math.round(performance.now() - started)
    } ms\n` +
      files.map((f) => `${kb(f.bytes)} KB ${kb(f.gzipBytes)} KB gz  ${f.file}`).join("\n"),
  );
}
