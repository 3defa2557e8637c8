/**
 * How many packed entries of a stream hold its newest `cap` messages. The engine writes one entry
 * per stream and batch, and a batch may hold one message or thousands, while Redis trims a stream by
 * entries (MAXLEN). So the engine remembers how many messages each entry it wrote held, newest last,
 * and keeps just enough of them to reach `cap`: a burst of large batches followed by small ones can
 * no longer trim the stream to a fraction of what consumers were promised.
 *
 * The counts are kept as runs (a quiet engine writes a million one-message entries as one run), so
 * memory follows how often the batch size changes, not the cap.
 *
 * Entries written before this process started are unknown (they may hold far fewer messages than
 * its own: a restart under a backlog writes large batches first), so until it has written `cap`
 * messages itself it asks for no trimming at all: a stream keeps at most about twice its cap then.
 * @module
 */
export class EntryWindow {
  /** Runs of entries holding the same number of messages, oldest first, from `#head` on. */
  #sizes: number[] = [];
  #repeats: number[] = [];
  #head = 0;
  #entries = 0;
  #sum = 0;

  constructor(readonly cap: number) {}

  /**
   * Records an entry of `messages` messages; returns the entries that hold the newest `cap` messages,
   * or undefined while this window has seen fewer than `cap` (trim nothing yet).
   */
  add(messages: number): number | undefined {
    const m = Math.max(1, messages); // an entry holds at least one message
    const last = this.#sizes.length - 1;
    if (last >= this.#head && this.#sizes[last] === m) this.#repeats[last]!++;
    else {
      this.#sizes.push(m);
      this.#repeats.push(1);
    }
    this.#entries++;
    this.#sum += m;
    // drop the oldest entries while the rest still reach the cap
    while (this.#entries > 1) {
      const size = this.#sizes[this.#head]!;
      if (this.#sum - size < this.cap) break;
      const droppable = Math.min(this.#repeats[this.#head]!, Math.floor((this.#sum - this.cap) / size));
      const n = Math.min(droppable, this.#entries - 1);
      this.#sum -= n * size;
      this.#entries -= n;
      this.#repeats[this.#head]! -= n;
      if (this.#repeats[this.#head] === 0) this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#sizes.length) {
      this.#sizes = this.#sizes.slice(this.#head);
      this.#repeats = this.#repeats.slice(this.#head);
      this.#head = 0;
    }
    return this.#sum >= this.cap ? this.#entries : undefined;
  }

  /** Runs kept (for tests: memory follows the changes of batch size, not the cap). */
  get runs(): number {
    return this.#sizes.length - this.#head;
  }
}
