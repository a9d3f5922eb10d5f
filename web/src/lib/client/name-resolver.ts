import { MAX_USER_GET_IDS, type Requester, RequestError, USER_ID_PATTERN, type User } from '@chat/client';

/** The pause after a `rate_limited` answer that came without `retryAfterMs`. */
const DEFAULT_PAUSE_MS = 1000;

/**
 * Learns display names by user id (user.get, docs/protocol.md "Users by id")
 * for whatever the app shows without one: members of views and member pages,
 * senders of messages, typists. Ids wanted within one turn go out together
 * (one request per 100), each id is asked once while its answer is awaited,
 * and an id the server does not know (or refuses as malformed) is not asked
 * again, so rendering can ask on every pass at no cost. A request that fails
 * forgets its ids, so they are asked again the next time they are wanted
 * (after a reconnect, say); after `rate_limited` nothing is asked until the
 * wait the server named has passed. After `stop()` it asks nothing and drops
 * late answers.
 */
export class NameResolver {
  readonly #wanted = new Set<string>();
  /** Asked and not yet answered. */
  readonly #asking = new Set<string>();
  /** Answered without a user, or refused as malformed: ids not to ask about again. */
  readonly #unknown = new Set<string>();
  #scheduled = false;
  /** Until when (ms since the epoch) the server asked us to wait. */
  #pausedUntil = 0;
  #stopped = false;

  constructor(
    private readonly requester: Requester,
    private readonly known: (userId: string) => boolean,
    private readonly remember: (users: User[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks for the names of those of `ids` not known, asked or unknown already: at the end of this turn, or once a rate-limit wait is over. */
  want(ids: Iterable<string>): void {
    if (this.#stopped) return;
    for (const id of ids) {
      if (this.known(id) || this.#asking.has(id) || this.#unknown.has(id)) continue;
      // Not a user id at all: the server would refuse the whole batch for it.
      if (USER_ID_PATTERN.test(id)) this.#wanted.add(id);
      else this.#unknown.add(id);
    }
    if (this.#wanted.size === 0 || this.#scheduled) return;
    this.#scheduled = true;
    const run = () => {
      this.#scheduled = false;
      void this.#ask();
    };
    const wait = this.#pausedUntil - this.now();
    if (wait > 0) setTimeout(run, wait);
    else queueMicrotask(run);
  }

  /** Asks nothing more, and ignores answers still on their way (the user signed out). */
  stop(): void {
    this.#stopped = true;
    this.#wanted.clear();
  }

  async #ask(): Promise<void> {
    if (this.#stopped) return;
    const ids = [...this.#wanted];
    this.#wanted.clear();
    for (const id of ids) this.#asking.add(id);
    try {
      for (let i = 0; i < ids.length; i += MAX_USER_GET_IDS) {
        const batch = ids.slice(i, i + MAX_USER_GET_IDS);
        let users: User[];
        try {
          ({ users } = await this.requester.request('user.get', { userIds: batch }));
        } catch (err) {
          this.#failed(err, batch);
          continue;
        }
        if (this.#stopped) return;
        const found = new Set(users.map((u) => u.id));
        for (const id of batch) if (!found.has(id)) this.#unknown.add(id);
        if (users.length > 0) this.remember(users);
      }
    } finally {
      for (const id of ids) this.#asking.delete(id);
    }
  }

  #failed(err: unknown, batch: readonly string[]): void {
    if (err instanceof RequestError && err.code === 'bad_request') {
      // Only well-formed ids are asked, so this is a server that disagrees with us: asking again cannot help.
      for (const id of batch) this.#unknown.add(id);
    } else if (err instanceof RequestError && err.code === 'rate_limited') {
      this.#pausedUntil = this.now() + (err.retryAfterMs ?? DEFAULT_PAUSE_MS);
    }
    // Anything else (disconnected, offline, unavailable): forgotten, wanted again when next shown.
  }
}
