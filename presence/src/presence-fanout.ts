import {
  Event,
  ID_PATTERN,
  PRESENCE_CHANGES_SUBJECT,
  PRESENCE_FANOUT_QUEUE,
  QUERY_SUBJECT,
  QueryReply,
  QueryRequest,
  UserPresence,
  conversationEventsSubject,
} from '@chat/proto';
import { type Bus, type BusMessage, type Logger, type Subscription, encoded } from '@chat/platform';

/**
 * Most conversations one presence change is published to. A user in more
 * (a bot in every group, say) is announced in the first ones the query
 * lists; the rest of their contacts still see presence through presence.get.
 */
export const DEFAULT_MAX_PRESENCE_ROOMS = 5000;

/** Changes waiting for their rooms query; past it new ones are dropped (presence is advisory). */
export const DEFAULT_MAX_PENDING_CHANGES = 10_000;

/** One rooms query; a change whose query fails is dropped (logged). */
export const DEFAULT_ROOMS_QUERY_TIMEOUT_MS = 2000;

/** Repeated warnings are logged at most once per this interval. */
const LOG_INTERVAL_MS = 10_000;

export interface PresenceFanoutOptions {
  bus: Bus;
  logger: Logger;
  maxRooms?: number;
  maxPending?: number;
  queryTimeoutMs?: number;
}

/**
 * Turns each presence change (a UserPresence on PRESENCE_CHANGES_SUBJECT,
 * published by the presence service when a user goes online or offline)
 * into a `presence` event published once on the subject of every
 * conversation of that user, found with the query service's `rooms` query.
 * Gateways following a conversation deliver the event to its local members
 * but the user themselves, each user once however many conversations they
 * share: the same per-gateway road as messages and typing, so one change
 * costs one bus message per conversation, not one per contact.
 *
 * Guarantees:
 * - Instances share the work in the PRESENCE_FANOUT_QUEUE queue group: each
 *   change is fanned out by one instance.
 * - Within one instance changes are fanned out one at a time in arrival
 *   order, so a user's online/offline events go out in the order the presence
 *   service published them (across instances two changes of one user may
 *   cross; `lastSeen` tells which is newer, and presence.get gives the truth).
 * - A failed query drops that change (logged, throttled); nothing else stops.
 */
export class PresenceFanout {
  readonly #maxRooms: number;
  readonly #maxPending: number;
  readonly #queryTimeoutMs: number;
  #sub: Subscription | undefined;
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #lastLog = new Map<string, number>();

  constructor(private readonly o: PresenceFanoutOptions) {
    this.#maxRooms = o.maxRooms ?? DEFAULT_MAX_PRESENCE_ROOMS;
    this.#maxPending = o.maxPending ?? DEFAULT_MAX_PENDING_CHANGES;
    this.#queryTimeoutMs = o.queryTimeoutMs ?? DEFAULT_ROOMS_QUERY_TIMEOUT_MS;
    for (const [name, value] of [
      ['maxRooms', this.#maxRooms],
      ['maxPending', this.#maxPending],
      ['queryTimeoutMs', this.#queryTimeoutMs],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
  }

  /** Subscribes (queue group). Idempotent. */
  start(): void {
    this.#sub ??= this.o.bus.subscribe(PRESENCE_CHANGES_SUBJECT, (msg) => this.#onChange(msg), { queue: PRESENCE_FANOUT_QUEUE });
  }

  /** Stops taking changes; resolves once those accepted are fanned out. */
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
      .catch((err: unknown) => this.#log('query', { err, userId: change.userId }, 'presence fan-out failed'))
      .finally(() => this.#pending--);
  }

  async #fanOut(change: UserPresence): Promise<void> {
    const request = QueryRequest.encode({ caller: { id: change.userId, name: '' }, op: { $case: 'rooms', value: {} } }).finish();
    const reply = QueryReply.decode((await this.o.bus.request(QUERY_SUBJECT, request, { timeoutMs: this.#queryTimeoutMs })).data).result;
    if (reply?.$case !== 'rooms') throw new Error(`rooms query answered with ${reply?.$case === 'failure' ? reply.value.code : reply?.$case}`);
    const rooms = reply.value.conversationIds;
    if (rooms.length > this.#maxRooms) this.#log('capped', { userId: change.userId, rooms: rooms.length }, `presence change announced in the first ${this.#maxRooms} conversations only`);
    const event = encoded(Event, { originReceivedAt: 0, kind: { $case: 'presence', value: change } });
    for (const id of rooms.slice(0, this.#maxRooms)) this.o.bus.publish(conversationEventsSubject(id), event);
  }

  #log(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.#lastLog.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    this.#lastLog.set(key, now);
    this.o.logger.warn(fields, message);
  }
}
