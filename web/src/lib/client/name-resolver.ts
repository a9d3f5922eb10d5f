import { type Requester, RequestError, type User, usersById } from '@chat/client';

/**
 * Learns display names by user id (user.get, docs/protocol.md "Users by id")
 * for whatever the app shows without one: members of views and member pages,
 * senders of messages, typists. Ids wanted within one turn go out together
 * (one request per 100), each id is asked once while its answer is awaited,
 * and an id the server does not know is not asked again, so rendering can
 * ask on every pass at no cost. A failed request forgets its ids: the next
 * time they are wanted (after a reconnect, say) they are asked again.
 */
export class NameResolver {
  readonly #wanted = new Set<string>();
  /** Asked and not yet answered. */
  readonly #asking = new Set<string>();
  /** Answered without a user: ids the server does not know. */
  readonly #unknown = new Set<string>();
  #scheduled = false;

  constructor(
    private readonly requester: Requester,
    private readonly known: (userId: string) => boolean,
    private readonly remember: (users: User[]) => void,
  ) {}

  /** Asks for the names of those of `ids` not known, asked or unknown already, at the end of this turn. */
  want(ids: Iterable<string>): void {
    for (const id of ids) {
      if (!this.known(id) && !this.#asking.has(id) && !this.#unknown.has(id)) this.#wanted.add(id);
    }
    if (this.#wanted.size === 0 || this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#ask();
    });
  }

  async #ask(): Promise<void> {
    const ids = [...this.#wanted];
    this.#wanted.clear();
    for (const id of ids) this.#asking.add(id);
    try {
      const users = await usersById(this.requester, ids);
      const found = new Set(users.map((u) => u.id));
      for (const id of ids) if (!found.has(id)) this.#unknown.add(id);
      if (users.length > 0) this.remember(users);
    } catch (err) {
      // Disconnected or refused: the ids are wanted again the next time something shows them.
      if (!(err instanceof RequestError)) throw err;
    } finally {
      for (const id of ids) this.#asking.delete(id);
    }
  }
}
