import assert from "node:assert/strict";
import { type AssetManifest, Island, registerIsland, renderDocument } from "./island.tsx";

function Hello({ name }: { name: string }) {
  return <b>hello {name}</b>;
}
function NotAnIsland() {
  return <i />;
}
registerIsland("Hello", Hello);

const ASSETS: AssetManifest = {
  base: "/x",
  islands: { Hello: { file: "Hello-1.js", imports: ["chunk-a.js", "chunk-b.js"] } },
  css: [],
};

Deno.test("renderDocument() adds one script per used island and preloads each chunk once", () => {
  const { html, islands } = renderDocument(
    <html>
      <body>
        <Island component={Hello} props={{ name: "a</script><b>" }} />
        <Island component={Hello} props={{ name: "b" }} />
      </body>
    </html>,
    ASSETS,
  );
  assert.deepEqual(islands, ["Hello"]);
  assert.equal(html.match(/<script type="module" src="\/x\/Hello-1.js">/g)?.length, 1);
  assert.equal(html.match(/rel="modulepreload"/g)?.length, 2);
  // Props are attribute-escaped JSON, so markup in them cannot break out.
  assert.match(html, /data-props="{&quot;name&quot;:&quot;a&lt;\/script>&lt;b>&quot;}"/);
  assert.match(html, /<b>hello a&lt;\/script>&lt;b><\/b>/);
});

Deno.test("Island refuses a component that is not registered", () => {
  assert.throws(
    () =>
      renderDocument(
        <html>
          <body>
            <Island component={NotAnIsland} props={{}} />
          </body>
        </html>,
        ASSETS,
      ),
    /is not an island/,
  );
});

Deno.test("renderDocument() names an island missing from the build", () => {
  assert.throws(
    () =>
      renderDocument(
        <html>
          <body>
            <Island component={Hello} props={{ name: "x" }} />
          </body>
        </html>,
        { ...ASSETS, islands: {} },
      ),
    /missing from the build/,
  );
});
