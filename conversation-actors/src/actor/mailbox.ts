import { OverloadedError } from '../errors.js';

/**
 * A bounded FIFO processed strictly one batch at a time. `takeBatch` lets the
 * consumer pull several consecutive items of one kind (group commit) while
 * keeping their order.
 */
export class Mailbox<T> {
  #items: T[] = [];
  #head = 0;

  constructor(private readonly capacity: number) {}

  get depth(): number {
    return this.#items.length - this.#head;
  }

  /** Appends, or throws OverloadedError when the mailbox is full. */
  push(item: T): void {
    if (this.depth >= this.capacity) throw new OverloadedError(`mailbox full (${this.capacity} waiting)`);
    this.#items.push(item);
  }

  /** The first item and every consecutive one after it that `sameBatch` accepts, up to `max`. */
  takeBatch(max: number, sameBatch: (first: T, next: T) => boolean): T[] {
    const first = this.#items[this.#head];
    if (first === undefined) return [];
    const batch = [first];
    this.#release();
    while (batch.length < max && this.#head < this.#items.length) {
      const next = this.#items[this.#head]!;
      if (!sameBatch(first, next)) break;
      batch.push(next);
      this.#release();
    }
    if (this.#head === this.#items.length) {
      // Empty: start over, so the array never grows past what waits at once.
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  /**
   * Steps past the head item and drops the mailbox's reference to it: a taken
   * request (its message body, its reply's closure) must not live on in the
   * array until it is compacted, which a quiet actor might never reach.
   */
  #release(): void {
    (this.#items as (T | undefined)[])[this.#head++] = undefined;
  }

  /** Removes and returns everything waiting. */
  drain(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
