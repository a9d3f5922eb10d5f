/** How long a presence change is remembered as delivered. */
export const PRESENCE_DEDUPE_MS = 10_000;

/** Changes remembered at most; past it the oldest are forgotten (a repeat costs one duplicate frame, not a loss). */
const MAX_CHANGES = 10_000;

/**
 * A presence change arrives once per conversation its user is in, and a
 * local user who shares several of those conversations is in several of the
 * rooms it arrives in: this remembers who got each change, so each local user
 * gets it once. A change is keyed by its content (user, online, lastSeen), which
 * tells one transition from the next.
 */
export class PresenceDedupe {
  readonly #delivered = new Map<string, { at: number; users: Set<string> }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** True the first time `recipient` is offered this change; false for every repeat. */
  first(change: { userId: string; online: boolean; lastSeen?: number | undefined }, recipient: string): boolean {
    const key = `${change.userId}\u0000${change.online ? 1 : 0}\u0000${change.lastSeen ?? ''}`;
    const now = this.now();
    let entry = this.#delivered.get(key);
    if (!entry || now - entry.at > PRESENCE_DEDUPE_MS) {
      this.#delivered.delete(key);
      this.#prune(now);
      this.#delivered.set(key, (entry = { at: now, users: new Set() }));
    }
    if (entry.users.has(recipient)) return false;
    entry.users.add(recipient);
    return true;
  }

  /** Drops expired changes (oldest first: the Map keeps insertion order), and the oldest past the cap. */
  #prune(now: number): void {
    for (const [key, entry] of this.#delivered) {
      if (now - entry.at <= PRESENCE_DEDUPE_MS && this.#delivered.size < MAX_CHANGES) break;
      this.#delivered.delete(key);
    }
  }
}
