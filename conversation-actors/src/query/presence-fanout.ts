import { ID_PATTERN, PRESENCE_CHANGES_SUBJECT, PRESENCE_FANOUT_QUEUE, UserPresence } from '@chat/proto';
import type { Bus, BusMessage, Logger, Subscription } from '@chat/platform';
import type { ChatStore } from '../store/store.js';
import { EventPublisher } from '../actor/event-publisher.js';

/**
 * Most contacts one presence change is sent to. A user in many big groups
 * could share conversations with tens of thousands of users; past this, the
 * rest do not get the event (they still see presence through presence.get).
 */
export const DEFAULT_MAX_PRESENCE_RECIPIENTS = 5000;

/** Changes waiting for their store read; past it new ones are dropped (presence is advisory). */
export const DEFAULT_MAX_PENDING_CHANGES = 10_000;

/** Repeated warnings are logged at most once per this interval. */
const LOG_INTERVAL_MS = 10_000;

export interface PresenceFanoutOptions {
  bus: Bus;
  store: ChatStore;
  logger: Logger;
  maxRecipients?: number;
  maxPending?: number;
}

/**
 * Turns the presence service's changes (a UserPresence on
 * PRESENCE_CHANGES_SUBJECT each time a user goes online or offline) into
 * `presence` events for the users who share a conversation with that user,
 * published on their user subjects, which gateways deliver to every session.
 *
 * Runs on actor hosts because they have the store: one read per change (the
 * user's contacts, at most `maxRecipients`), then one publish per contact,
 * the same encoded bytes to each.
 *
 * Guarantees:
 * - Hosts share the work in the PRESENCE_FANOUT_QUEUE queue group: each
 *   change is fanned out by one host.
 * - Within one host, changes are fanned out one at a time in arrival order,
 *   so a user's online/offline events go out in the order the presence service
 *   published them. (Across hosts, two changes of one user that land on
 *   different hosts may cross; `lastSeen` tells a client which is newer, and
 *   presence.get gives the truth.)
 * - A failing store drops that change (logged, throttled); the service goes on.
 */
export class PresenceFanout {
  readonly #events: EventPublisher;
  readonly #maxRecipients: number;
  readonly #maxPending: number;
  #sub: Subscription | undefined;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #lastLog = new Map<string, number>();

  constructor(private readonly o: PresenceFanoutOptions) {
    this.#events = new EventPublisher(o.bus);
    this.#maxRecipients = o.maxRecipients ?? DEFAULT_MAX_PRESENCE_RECIPIENTS;
    this.#maxPending = o.maxPending ?? DEFAULT_MAX_PENDING_CHANGES;
    if (!Number.isInteger(this.#maxRecipients) || this.#maxRecipients < 1) throw new RangeError(`maxRecipients must be a positive integer, got ${this.#maxRecipients}`);
    if (!Number.isInteger(this.#maxPending) || this.#maxPending < 1) throw new RangeError(`maxPending must be a positive integer, got ${this.#maxPending}`);
  }

  /** Subscribes (queue group). Idempotent. */
  start(): void {
    this.#sub ??= this.o.bus.subscribe(PRESENCE_CHANGES_SUBJECT, (msg) => this.#onChange(msg), { queue: PRESENCE_FANOUT_QUEUE });
  }

  /** Stops taking changes; resolves once those accepted are fanned out. Call before closing the store. */
  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    await this.#tail;
  }

  #onChange(msg: BusMessage): void {
    let change: UserPresence;
    try {
      change = UserPresence.decode(msg.data);
    } catch (err) {
      this.#log('invalid', { err }, 'undecodable presence change');
      return;
    }
    // The id goes into subjects: only a valid one (the service checks it too).
    if (!ID_PATTERN.test(change.userId)) {
      this.#log('invalid', { userId: change.userId }, 'presence change with an invalid user id');
      return;
    }
    if (this.#pending >= this.#maxPending) {
      this.#log('dropped', { pending: this.#pending }, 'presence fan-out behind: dropping changes');
      return;
    }
    this.#pending++;
    this.#tail = this.#tail
      .then(() => this.#fanOut(change))
      .catch((err: unknown) => this.#log('store', { err, userId: change.userId }, 'presence fan-out failed'))
      .finally(() => this.#pending--);
  }

  async #fanOut(change: UserPresence): Promise<void> {
    const contacts = await this.o.store.userContacts(change.userId, this.#maxRecipients);
    if (contacts.length === 0) return;
    this.#events.presence(contacts, change);
  }

  #log(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.#lastLog.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    this.#lastLog.set(key, now);
    this.o.logger.warn(fields, message);
  }
}
