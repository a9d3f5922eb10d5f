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
    this.#head++;
    while (batch.length < max && this.#head < this.#items.length) {
      const next = this.#items[this.#head]!;
      if (!sameBatch(first, next)) break;
      batch.push(next);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  /** Removes and returns everything waiting. */
  drain(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}
