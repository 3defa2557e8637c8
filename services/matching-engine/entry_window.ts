/**
 * How many packed entries of a stream hold its newest `cap` messages. The engine writes one entry
 * per stream and batch, and a batch may hold one message or thousands, while Redis trims a stream by
 * entries (MAXLEN). So the engine remembers how many messages each entry it wrote held, newest last,
 * and keeps just enough of them to reach `cap`: a burst of large batches followed by small ones can
 * no longer trim the stream to a fraction of what consumers were promised.
 *
 * Entries written before this process started are unknown; until it has written `cap` messages
 * itself, they are assumed to hold as many as its own did on average.
 * @module
 */
export class EntryWindow {
  /** Messages per entry, oldest first, from `#head` on. */
  #counts: number[] = [];
  #head = 0;
  #sum = 0;

  constructor(readonly cap: number) {}

  /** Records an entry of `messages` messages; returns the entries that hold the newest `cap` messages. */
  add(messages: number): number {
    this.#counts.push(messages);
    this.#sum += messages;
    // drop the oldest while the rest still reach the cap
    while (this.#counts.length - this.#head > 1 && this.#sum - this.#counts[this.#head]! >= this.cap) {
      this.#sum -= this.#counts[this.#head]!;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#counts.length) {
      this.#counts = this.#counts.slice(this.#head);
      this.#head = 0;
    }
    const entries = this.#counts.length - this.#head;
    if (this.#sum >= this.cap) return entries;
    return entries + Math.ceil((this.cap - this.#sum) / (this.#sum / entries));
  }
}
