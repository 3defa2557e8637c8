import { useState } from "preact/hooks";

export default function Counter({ start }: { start: number }) {
  const [n, setN] = useState(start);
  return <button type="button" id="counter" onClick={() => setN(n + 1)}>clicks: {n}</button>;
}
