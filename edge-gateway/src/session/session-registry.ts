import type { Session } from './session.js';

/**
 * The sessions of this gateway by user. The first session of a user starts
 * that user's event subscription and the last one stops it, through the
 * callbacks, so the bus carries events only for users connected here.
 */
export class SessionRegistry {
  readonly #byUser = new Map<string, Set<Session>>();
  #count = 0;

  constructor(
    private readonly onFirst: (userId: string) => void,
    private readonly onLast: (userId: string) => void,
  ) {}

  get size(): number {
    return this.#count;
  }

  /** Whether `userId` has a session here (or one being set up). */
  has(userId: string): boolean {
    return this.#byUser.has(userId);
  }

  add(userId: string, session: Session): void {
    let set = this.#byUser.get(userId);
    if (!set) {
      this.#byUser.set(userId, (set = new Set()));
      this.onFirst(userId);
    }
    if (!set.has(session)) {
      set.add(session);
      this.#count++;
    }
  }

  remove(userId: string, session: Session): void {
    const set = this.#byUser.get(userId);
    if (!set?.delete(session)) return;
    this.#count--;
    if (set.size === 0) {
      this.#byUser.delete(userId);
      this.onLast(userId);
    }
  }

  sessionsOf(userId: string): ReadonlySet<Session> | undefined {
    return this.#byUser.get(userId);
  }

  *all(): Iterable<Session> {
    for (const set of this.#byUser.values()) yield* set;
  }
}
