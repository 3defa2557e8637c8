/** A signed percent change ("+1.25%"), coloured as a buy (up) or a sell (down). */
export function Change({ pct }: { pct?: string | null }) {
  if (pct === undefined || pct === null || pct === "") return <span class="num muted">—</span>;
  const negative = pct.startsWith("-");
  const zero = /^-?0*(\.0*)?$/.test(pct);
  return (
    <span class={`num ${zero ? "" : negative ? "sell" : "buy"}`}>
      {negative || zero ? "" : "+"}
      {pct}%
    </span>
  );
}
