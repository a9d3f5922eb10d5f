/**
 * A receiver of a user's event frames other than a WebSocket session: a gRPC
 * WatchEvents stream. It gets the same rendered frames, from the same
 * per-gateway fan-out, as the user's sessions.
 */
export interface EventSink {
  /** One event frame, as a session would receive it. Must not throw or block. */
  deliver(frame: string): void;
  /** The gateway can no longer vouch for the stream (its user's events may have been missed): end it so the client resumes. */
  interrupt(reason: string): void;
}

/**
 * The event sinks of this gateway by user. Like SessionRegistry, the first
 * sink of a user reports it (so the gateway follows that user's events) and
 * the last one's removal too; the gateway combines both registries.
 */
export class EventSinks {
  readonly #byUser = new Map<string, Set<EventSink>>();

  /** Adds a sink; true if it is the user's first. */
  add(userId: string, sink: EventSink): boolean {
    let set = this.#byUser.get(userId);
    const first = !set;
    if (!set) this.#byUser.set(userId, (set = new Set()));
    set.add(sink);
    return first;
  }

  /** Removes a sink; true if it was the user's last. */
  remove(userId: string, sink: EventSink): boolean {
    const set = this.#byUser.get(userId);
    if (!set?.delete(sink)) return false;
    if (set.size > 0) return false;
    this.#byUser.delete(userId);
    return true;
  }

  has(userId: string): boolean {
    return this.#byUser.has(userId);
  }

  of(userId: string): ReadonlySet<EventSink> | undefined {
    return this.#byUser.get(userId);
  }

  *all(): Iterable<EventSink> {
    for (const set of this.#byUser.values()) yield* set;
  }
}
