/** How long a typist shows without news: the server ends typing after 6 s of quiet, this is the safety net. */
export const TYPING_EXPIRY_MS = 8_000;

/** Who is typing where, each entry expiring on its own if no `active: false` comes. */
export class TypingBook {
  readonly #typists = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  apply(conversationId: string, userId: string, active: boolean): void {
    let users = this.#typists.get(conversationId);
    if (active) {
      if (!users) this.#typists.set(conversationId, (users = new Map()));
      users.set(userId, this.now() + TYPING_EXPIRY_MS);
    } else {
      users?.delete(userId);
    }
  }

  /** Who is typing in the conversation now. */
  typists(conversationId: string): string[] {
    const now = this.now();
    return [...(this.#typists.get(conversationId) ?? [])].filter(([, until]) => until > now).map(([u]) => u);
  }

  /** Whether anyone is typing anywhere (the client runs an expiry timer only then). */
  get anyone(): boolean {
    for (const users of this.#typists.values()) if (users.size > 0) return true;
    return false;
  }

  /** Drops expired entries; true if any went. */
  expire(): boolean {
    const now = this.now();
    let dropped = false;
    for (const users of this.#typists.values()) {
      for (const [u, until] of users) {
        if (until <= now) {
          users.delete(u);
          dropped = true;
        }
      }
    }
    return dropped;
  }

  clear(): void {
    this.#typists.clear();
  }
}

/**
 * The sending side of typing: `input()` on every keystroke sends
 * `active: true` at most once per interval; `stop()` (message sent,
 * composer emptied) sends `active: false` if a true went out.
 */
export class TypingThrottle {
  #lastSent = -Infinity;
  #active = false;

  constructor(
    private readonly send: (active: boolean) => void,
    private readonly intervalMs = 3_000,
    private readonly now: () => number = Date.now,
  ) {}

  input(): void {
    const now = this.now();
    if (now - this.#lastSent < this.intervalMs) return;
    this.#lastSent = now;
    this.#active = true;
    this.send(true);
  }

  stop(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#lastSent = -Infinity;
    this.send(false);
  }
}
