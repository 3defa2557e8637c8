import { sparklinePoints } from "../utils/candles.ts";

/** A small line of recent closes; green when the last close is at or above the first. */
export function Sparkline(
  { values, width = 120, height = 32 }: { values: number[]; width?: number; height?: number },
) {
  if (values.length < 2) return <span class="spark-empty" aria-hidden="true">—</span>;
  const up = values[values.length - 1] >= values[0];
  return (
    <svg
      class={`spark ${up ? "up" : "down"}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={up ? "trend up" : "trend down"}
    >
      <polyline points={sparklinePoints(values, width, height)} fill="none" stroke-width="1.5" />
    </svg>
  );
}
