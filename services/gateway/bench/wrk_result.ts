/**
 * What wrk's `done` hook reports for one run (see the .lua scripts), and how bench/run.ts turns runs
 * into figures: only successful (2xx) answers count as throughput, and a run with any non-2xx answer
 * or socket error is flagged.
 * @module
 */

export interface WrkResult {
  /** Answers received, whatever their status. */
  requests: number;
  durationUs: number;
  /** Answers with a status outside 2xx (counted in `requests`). */
  non2xx: number;
  /** connect, read, write errors and timeouts. */
  socketErrors: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

/** Successful (2xx) answers of the run. */
export function successful(r: WrkResult): number {
  return Math.max(0, r.requests - r.non2xx);
}

/** Successful answers per second. */
export function successfulPerSec(r: WrkResult): number {
  return successful(r) / (r.durationUs / 1e6);
}

/** "" for a clean run, else what went wrong, for the run's line. */
export function runErrors(r: WrkResult): string {
  if (r.non2xx === 0 && r.socketErrors === 0) return "";
  return `ERRORS: ${r.non2xx} non-2xx answers, ${r.socketErrors} socket errors`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The median of a scenario's runs, and how many of them had errors. */
export function summarizeRuns(results: WrkResult[]): {
  /** Median of the runs' successful answers per second. */
  okPerSec: number;
  perRun: number[];
  non2xx: number;
  socketErrors: number;
  /** Runs with any non-2xx answer or socket error. */
  failedRuns: number;
  /** "" when every run was clean, else a warning for the median table. */
  flag: string;
} {
  const perRun = results.map(successfulPerSec);
  const non2xx = results.reduce((a, r) => a + r.non2xx, 0);
  const socketErrors = results.reduce((a, r) => a + r.socketErrors, 0);
  const failedRuns = results.filter((r) => runErrors(r) !== "").length;
  const flag = failedRuns === 0
    ? ""
    : `ERRORS in ${failedRuns} of ${results.length} runs (${non2xx} non-2xx, ${socketErrors} socket errors)`;
  return { okPerSec: median(perRun), perRun, non2xx, socketErrors, failedRuns, flag };
}
