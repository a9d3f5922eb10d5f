/**
 * A value that can be watched. `subscribe` follows the Svelte store contract
 * (the subscriber is called at once with the current value, and the returned
 * function unsubscribes), so Svelte components can use `$value` on it while
 * this code stays framework-free.
 */
export interface Readable<T> {
  subscribe(run: (value: T) => void): () => void;
  get(): T;
}

/** A Readable whose owner sets the value. */
export class Observable<T> implements Readable<T> {
  #value: T;
  readonly #subscribers = new Set<(value: T) => void>();

  constructor(initial: T) {
    this.#value = initial;
  }

  get(): T {
    return this.#value;
  }

  set(value: T): void {
    this.#value = value;
    // A copy: a subscriber may unsubscribe (or subscribe others) while being told.
    for (const run of [...this.#subscribers]) run(value);
  }

  subscribe(run: (value: T) => void): () => void {
    this.#subscribers.add(run);
    run(this.#value);
    return () => {
      this.#subscribers.delete(run);
    };
  }
}
