import type { Logger } from '@chat/platform';
import type { BackendClient } from '../routing/backend-client.js';

/** How many users a gateway remembers as registered before it starts over. */
const REMEMBERED_USERS = 100_000;

/**
 * How long a connect or login waits for the directory: registration is best
 * effort, and a cluster with no actor host reachable must not hold every new
 * connection for the full request retry budget.
 */
const REGISTER_BUDGET_MS = 1000;

/**
 * Makes a user known to the cluster (for user.search and as a member) the
 * first time they connect or log in. Remembers whom it registered, with
 * which name, so reconnects cost nothing.
 */
export class UserRegistrar {
  readonly #known = new Map<string, string>();

  constructor(
    private readonly backend: BackendClient,
    private readonly logger: Logger,
  ) {}

  /** Whether the user is registered under this name already (ensure() would do nothing). */
  knows(user: { id: string; name: string }): boolean {
    return this.#known.get(user.id) === user.name;
  }

  /**
   * Registers the user unless already registered under this name. A failure is
   * logged, not thrown: chat works without the directory entry being fresh.
   */
  async ensure(user: { id: string; name: string }): Promise<void> {
    if (this.#known.get(user.id) === user.name) return;
    try {
      await this.backend.query({ caller: user, op: { $case: 'register', value: { user } } }, { budgetMs: REGISTER_BUDGET_MS });
      if (this.#known.size >= REMEMBERED_USERS) this.#known.clear();
      this.#known.set(user.id, user.name);
    } catch (err) {
      this.logger.warn({ err, userId: user.id }, 'could not register user');
    }
  }
}
