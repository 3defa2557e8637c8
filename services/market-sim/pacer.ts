/**
 * A token bucket for the bots' sign-ups. They go through the gateway's login and sign-up rate
 * limit, which counts per client address, so on one machine the simulator shares it with every
 * person who logs in: a thousand new bots at once would lock people out. The bucket lets a start's
 * few bots through at once and then paces the rest well below that limit.
 * @module
 */

export interface PacerOptions {
  /** Sign-ups allowed at once. */
  burst: number;
  /** Milliseconds per further sign-up. */
  intervalMs: number;
}

/**
 * The bots' default pace in requests: 10 at once, then one a second, a third of the gateway's
 * default 30 per 10 s. A bot takes two (a sign-up, then a log-in when its name exists).
 */
export const DEFAULT_SIGNUP_PACE: PacerOptions = { burst: 10, intervalMs: 1000 };

export class Pacer {
  #tokens: number;
  #at: number;

  constructor(readonly options: PacerOptions, now: number) {
    this.#tokens = options.burst;
    this.#at = now;
  }

  /** Takes a token at `now` and returns 0, or returns how many ms to wait before one is there. */
  take(now: number): number {
    const { burst, intervalMs } = this.options;
    this.#tokens = Math.min(burst, this.#tokens + (now - this.#at) / intervalMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.#tokens) * intervalMs);
  }
}
