import type { Registry } from 'prom-client';
import { PRESENCE_QUERY_SUBJECT, PRESENCE_QUEUE, PRESENCE_SESSIONS_SUBJECT, PRESENCE_TYPING_SUBJECT } from '@chat/proto';
import { type Bus, type Clock, type Logger, type Subscription, systemClock } from '@chat/platform';
import type { PresenceBackend } from './presence-backend.js';
import { PresenceMetrics } from './presence-metrics.js';
import { BackendCalls } from './backend-calls.js';
import { PresenceAnnouncer } from './presence-announcer.js';
import { PresenceQueries } from './presence-queries.js';
import { PresenceUpdates, type UpdateOutcome } from './presence-updates.js';
import { ThrottledLog } from './throttled-log.js';

/** Default interval between two expiry rounds (backend.expire()). */
export const DEFAULT_EXPIRE_EVERY_MS = 1000;

/**
 * Default cap on session updates waiting to be applied. Past it, new updates
 * are dropped (and counted) rather than queued without bound while the backend
 * is slow or down; the gateways' next heartbeats restore what was dropped.
 */
export const DEFAULT_MAX_PENDING_UPDATES = 10_000;

export interface PresenceServiceOptions {
  bus: Bus;
  backend: PresenceBackend;
  logger: Logger;
  /** Where the service registers its metrics; one PresenceService per registry. */
  registry: Registry;
  /** Interval between expiry rounds; default DEFAULT_EXPIRE_EVERY_MS. */
  expireEveryMs?: number;
  /** Session updates allowed to wait for the backend; default DEFAULT_MAX_PENDING_UPDATES. */
  maxPendingUpdates?: number;
  /** Time source for expiry and for clamping gateways' timestamps; default the system clock. */
  clock?: Clock;
}

/**
 * The presence service: applies the session updates gateways publish on
 * PRESENCE_SESSIONS_SUBJECT (session up, session down, heartbeat) to a
 * PresenceBackend, answers PresenceQuery requests on PRESENCE_QUERY_SUBJECT,
 * expires the sessions of gateways that stopped heartbeating every
 * `expireEveryMs`, and publishes a UserPresence on PRESENCE_CHANGES_SUBJECT for
 * every transition the backend reports (online: true when a user's first
 * session arrives; online: false with lastSeen when the last one goes or expires).
 *
 * Typing, all of it here: gateways publish a TypingChange on
 * PRESENCE_TYPING_SUBJECT for a member's `typing` (they check membership, so
 * only members hold leases); the service starts, renews or stops that
 * session's typing lease and publishes the `typing` event once on the
 * conversation's subject, where gateways deliver it to every member but the
 * typist. It publishes `active: false` for each lease it ends on its own: one
 * that ran out (expiry round) or whose session went down. A start that arrives
 * after its session's down, or after a later stop, is not relayed.
 *
 * Guarantees:
 * - Any number of instances share the work: all three subjects are served in the
 *   PRESENCE_QUEUE queue group, so each update and each query is handled by
 *   exactly one instance. Instances agree only if they share their backend:
 *   the Redis backend is what makes several instances consistent; with the
 *   in-memory backend (standalone mode) each instance has its own memory, so
 *   run exactly one.
 * - Within one instance, updates and expiry rounds are applied one at a time
 *   in arrival order, so the changes it publishes follow the order the backend
 *   applied them; each transition is published once (the backend reports it once),
 *   and so is each typing lease it ends.
 * - A gateway's timestamp `at` is used as the time of its update, clamped to
 *   this instance's clock so a fast gateway clock cannot stretch a lease.
 * - A failing backend never crashes the service: the error is logged and
 *   counted, the update is lost (the next heartbeat restores live sessions),
 *   and queries are answered with a Failure `unavailable`. Presence must never
 *   take chat down.
 * - Gateways are asked to re-report their sessions (PRESENCE_RESYNC_SUBJECT)
 *   once per loss of the backend's data, by whichever call or instance finds
 *   it first (the backend reports each loss once), including at start: an
 *   empty Redis met at start may have restarted with this service while the
 *   gateways kept their users. After an outage without a loss (the backend was
 *   unreachable but kept its data), once per instance that saw it fail.
 *
 * Its parts: PresenceUpdates decodes and applies the updates, PresenceQueries
 * answers the queries, BackendCalls guards every backend call and asks for the
 * resyncs, PresenceAnnouncer publishes; this class orders the updates and
 * expiry rounds and starts and stops the whole.
 */
export class PresenceService {
  readonly #bus: Bus;
  readonly #backend: PresenceBackend;
  readonly #logger: Logger;
  readonly #log: ThrottledLog;
  readonly #metrics: PresenceMetrics;
  readonly #clock: Clock;
  readonly #calls: BackendCalls;
  readonly #announce: PresenceAnnouncer;
  readonly #updates: PresenceUpdates;
  readonly #queries: PresenceQueries;
  readonly #expireEveryMs: number;
  readonly #maxPending: number;
  #subs: Subscription[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The tail of the chain that applies updates and expiry rounds one at a time. */
  #tail: Promise<void> = Promise.resolve();
  /** Session updates queued on the chain or being applied. */
  #pendingUpdates = 0;
  #expireQueued = false;

  constructor(options: PresenceServiceOptions) {
    const expireEveryMs = options.expireEveryMs ?? DEFAULT_EXPIRE_EVERY_MS;
    if (!Number.isFinite(expireEveryMs) || expireEveryMs <= 0) throw new RangeError(`expireEveryMs must be a positive number, got ${expireEveryMs}`);
    const maxPending = options.maxPendingUpdates ?? DEFAULT_MAX_PENDING_UPDATES;
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new RangeError(`maxPendingUpdates must be a positive integer, got ${maxPending}`);
    this.#bus = options.bus;
    this.#backend = options.backend;
    this.#logger = options.logger;
    this.#log = new ThrottledLog(options.logger);
    this.#metrics = new PresenceMetrics(options.registry, {
      onlineUsers: () => this.#calls.call('onlineUsers', () => this.#backend.onlineUsers()),
      backendUp: () => !this.#calls.degraded,
    });
    this.#clock = options.clock ?? systemClock;
    this.#expireEveryMs = expireEveryMs;
    this.#maxPending = maxPending;
    const { bus, backend, logger } = options;
    const log = this.#log;
    const metrics = this.#metrics;
    const clock = this.#clock;
    // Also asks the gateways for their sessions whenever the backend reports it lost its data.
    this.#calls = new BackendCalls({ backend, bus, logger, log, metrics, clock, serially: (task) => this.#serially(task) });
    this.#announce = new PresenceAnnouncer({ bus, logger, log, metrics });
    this.#updates = new PresenceUpdates({
      backend,
      calls: this.#calls,
      announce: this.#announce,
      metrics,
      log,
      enqueue: (kind, reportedAt, apply) => this.#enqueue(kind, reportedAt, apply),
    });
    this.#queries = new PresenceQueries({ backend, calls: this.#calls, metrics, logger });
  }

  /** True between start() and stop(). */
  get started(): boolean {
    return this.#subs.length > 0;
  }

  /** Subscribes to session and typing updates and queries (queue group) and starts the expiry timer. Idempotent. */
  start(): void {
    if (this.started) return;
    this.#subs = [
      this.#bus.subscribe(PRESENCE_SESSIONS_SUBJECT, (msg) => this.#updates.sessionChange(msg), { queue: PRESENCE_QUEUE }),
      this.#bus.subscribe(PRESENCE_TYPING_SUBJECT, (msg) => this.#updates.typingChange(msg), { queue: PRESENCE_QUEUE }),
      this.#bus.subscribe(PRESENCE_QUERY_SUBJECT, (msg) => this.#queries.answer(msg), { queue: PRESENCE_QUEUE }),
    ];
    this.#timer = setInterval(() => this.#scheduleExpire(), this.#expireEveryMs);
    this.#timer.unref();
    // At once rather than at the first expiry round: an empty store met at start is a loss too.
    if (this.#backend.dataSince) this.#serially(async () => void (await this.#calls.call('dataSince', () => this.#backend.dataSince!(this.#clock.now()))));
  }

  /**
   * Stops taking updates and queries, stops the expiry timer, and resolves once
   * the updates already accepted are applied and the queries in flight answered.
   * Does not close the backend or the bus, which the caller owns.
   */
  async stop(): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe();
    this.#subs = [];
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tail;
    await this.#queries.idle();
  }

  /** Queues one update on the chain (dropping it past maxPendingUpdates) and counts its outcome. */
  #enqueue(kind: string, reportedAt: number, apply: (at: number) => Promise<UpdateOutcome>): void {
    if (this.#pendingUpdates >= this.#maxPending) {
      this.#metrics.updates.inc({ kind, outcome: 'dropped' });
      this.#log.log('dropped', 'warn', { pending: this.#pendingUpdates }, 'presence backend behind: dropping session updates');
      return;
    }
    const at = this.#time(reportedAt);
    this.#pendingUpdates++;
    this.#serially(async () => {
      try {
        this.#metrics.updates.inc({ kind, outcome: await apply(at) });
      } finally {
        this.#pendingUpdates--;
      }
    });
  }

  /** Queues one expiry round, unless one is already waiting. */
  #scheduleExpire(): void {
    if (this.#expireQueued) return;
    this.#expireQueued = true;
    this.#serially(async () => {
      this.#expireQueued = false;
      const now = this.#clock.now();
      const expired = await this.#calls.call('expire', () => this.#backend.expire(now));
      for (const { userId, lastSeen } of expired ?? []) this.#announce.change(userId, false, lastSeen);
      const typing = await this.#calls.call('expireTyping', () => this.#backend.expireTyping(now));
      this.#announce.typingEnded(typing ?? [], 'expired');
    });
  }

  /** Runs `task` after everything queued before it; the chain never rejects. */
  #serially(task: () => Promise<void>): void {
    this.#tail = this.#tail.then(task).catch((err: unknown) => this.#logger.error({ err }, 'presence task failed'));
  }

  /** The time of a gateway's update: its own timestamp, never later than our clock. */
  #time(at: number): number {
    const now = this.#clock.now();
    return Number.isFinite(at) && at > 0 ? Math.min(at, now) : now;
  }
}
