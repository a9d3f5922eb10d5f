import type { Registry } from 'prom-client';
import {
  ID_PATTERN,
  PRESENCE_CHANGES_SUBJECT,
  PRESENCE_QUERY_SUBJECT,
  PRESENCE_QUEUE,
  PRESENCE_RESYNC_SUBJECT,
  PRESENCE_SESSIONS_SUBJECT,
  PRESENCE_TYPING_SUBJECT,
  PresenceQuery,
  PresenceReply,
  SessionChange,
  TypingChange,
  UserPresence as UserPresenceMessage,
} from '@chat/proto';
import { type Bus, type BusMessage, type Clock, type Logger, type Subscription, SpanKind, contextFromHeaders, endSpan, startSpan, systemClock } from '@chat/platform';
import type { PresenceBackend, SessionRef, TypingRef } from './presence-backend.js';
import { PresenceMetrics } from './presence-metrics.js';
import { PresenceRebuildingError } from './errors.js';
import { publishTyping } from './typing-events.js';

/** Default interval between two expiry rounds (backend.expire()). */
export const DEFAULT_EXPIRE_EVERY_MS = 1000;

/**
 * Default cap on session updates waiting to be applied. Past it, new updates
 * are dropped (and counted) rather than queued without bound while the backend
 * is slow or down; the gateways' next heartbeats restore what was dropped.
 */
export const DEFAULT_MAX_PENDING_UPDATES = 10_000;

/** Repeated warnings and backend errors of one kind are logged at most once per this interval; all are counted. */
const ERROR_LOG_INTERVAL_MS = 10_000;

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

type UpdateKind = NonNullable<SessionChange['kind']>['$case'];
type BackendOp = 'sessionUp' | 'sessionDown' | 'heartbeat' | 'get' | 'expire' | 'typingStart' | 'typingStop' | 'endSessionTyping' | 'expireTyping' | 'onlineUsers' | 'dataSince';
type UpdateOutcome = 'ok' | 'invalid' | 'error';

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
 */
export class PresenceService {
  readonly #bus: Bus;
  readonly #backend: PresenceBackend;
  readonly #logger: Logger;
  readonly #metrics: PresenceMetrics;
  readonly #clock: Clock;
  readonly #expireEveryMs: number;
  readonly #maxPending: number;
  #subs: Subscription[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The tail of the chain that applies updates and expiry rounds one at a time. */
  #tail: Promise<void> = Promise.resolve();
  /** A backend call failed and none has succeeded since. */
  #degraded = false;
  /** When the current outage began (first failed call), until the check after it is done. */
  #outageSince: number | undefined;
  /** Session updates queued on the chain or being applied. */
  #pendingUpdates = 0;
  #expireQueued = false;
  #queriesInFlight = 0;
  #queriesIdle: (() => void)[] = [];
  readonly #lastLog = new Map<string, number>();

  constructor(options: PresenceServiceOptions) {
    const expireEveryMs = options.expireEveryMs ?? DEFAULT_EXPIRE_EVERY_MS;
    if (!Number.isFinite(expireEveryMs) || expireEveryMs <= 0) throw new RangeError(`expireEveryMs must be a positive number, got ${expireEveryMs}`);
    const maxPending = options.maxPendingUpdates ?? DEFAULT_MAX_PENDING_UPDATES;
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new RangeError(`maxPendingUpdates must be a positive integer, got ${maxPending}`);
    this.#bus = options.bus;
    this.#backend = options.backend;
    this.#logger = options.logger;
    this.#metrics = new PresenceMetrics(options.registry, {
      onlineUsers: () => this.#call('onlineUsers', () => this.#backend.onlineUsers()),
      backendUp: () => !this.#degraded,
    });
    this.#clock = options.clock ?? systemClock;
    this.#expireEveryMs = expireEveryMs;
    this.#maxPending = maxPending;
    options.backend.onDataLost?.(() => {
      this.#logger.warn('the presence store lost its data (Redis restarted empty?): asking gateways for their sessions; unknown users answer unavailable until they have');
      this.#askResync();
    });
  }

  /** True between start() and stop(). */
  get started(): boolean {
    return this.#subs.length > 0;
  }

  /** Subscribes to session and typing updates and queries (queue group) and starts the expiry timer. Idempotent. */
  start(): void {
    if (this.started) return;
    this.#subs = [
      this.#bus.subscribe(PRESENCE_SESSIONS_SUBJECT, (msg) => this.#onSessionChange(msg), { queue: PRESENCE_QUEUE }),
      this.#bus.subscribe(PRESENCE_TYPING_SUBJECT, (msg) => this.#onTypingChange(msg), { queue: PRESENCE_QUEUE }),
      this.#bus.subscribe(PRESENCE_QUERY_SUBJECT, (msg) => this.#onQuery(msg), { queue: PRESENCE_QUEUE }),
    ];
    this.#timer = setInterval(() => this.#scheduleExpire(), this.#expireEveryMs);
    this.#timer.unref();
    // At once rather than at the first expiry round: an empty store met at start is a loss too.
    if (this.#backend.dataSince) this.#serially(async () => void (await this.#call('dataSince', () => this.#backend.dataSince!(this.#clock.now()))));
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
    while (this.#queriesInFlight > 0) await new Promise<void>((resolve) => this.#queriesIdle.push(resolve));
  }

  #onSessionChange(msg: BusMessage): void {
    let change: SessionChange;
    try {
      change = SessionChange.decode(msg.data);
    } catch (err) {
      this.#metrics.updates.inc({ kind: 'unknown', outcome: 'invalid' });
      this.#logThrottled('invalid', 'warn', { err }, 'undecodable session change');
      return;
    }
    const { gatewayId, kind } = change;
    if (!gatewayId || !kind) {
      this.#metrics.updates.inc({ kind: kind?.$case ?? 'unknown', outcome: 'invalid' });
      this.#logThrottled('invalid', 'warn', { gatewayId, kind: kind?.$case }, 'session change without a gateway id or a kind');
      return;
    }
    this.#enqueue(kind.$case, change.at, (at) => this.#apply(gatewayId, kind, at));
  }

  #onTypingChange(msg: BusMessage): void {
    let change: TypingChange;
    try {
      change = TypingChange.decode(msg.data);
    } catch (err) {
      this.#metrics.updates.inc({ kind: 'unknown', outcome: 'invalid' });
      this.#logThrottled('invalid', 'warn', { err }, 'undecodable typing change');
      return;
    }
    const kind = change.active ? 'typing_start' : 'typing_stop';
    const ref: TypingRef = { conversationId: change.conversationId, userId: change.userId, sessionId: change.sessionId };
    // The conversation id goes into a subject when the lease is announced: only a valid one.
    if (!validRef(ref) || !ID_PATTERN.test(ref.conversationId)) {
      this.#metrics.updates.inc({ kind, outcome: 'invalid' });
      this.#logThrottled('invalid', 'warn', { userId: ref.userId, conversationId: ref.conversationId }, 'typing change with an invalid id');
      return;
    }
    this.#enqueue(kind, change.at, (at) => this.#applyTyping(ref, change.active, at));
  }

  /** Queues one update on the chain (dropping it past maxPendingUpdates) and counts its outcome. */
  #enqueue(kind: string, reportedAt: number, apply: (at: number) => Promise<UpdateOutcome>): void {
    if (this.#pendingUpdates >= this.#maxPending) {
      this.#metrics.updates.inc({ kind, outcome: 'dropped' });
      this.#logThrottled('dropped', 'warn', { pending: this.#pendingUpdates }, 'presence backend behind: dropping session updates');
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

  /**
   * Applies one typing change and relays it. With the backend down it is
   * relayed all the same (typing must not depend on presence's store): the
   * other members' clients then end a start on their own timeout.
   */
  async #applyTyping(ref: TypingRef, active: boolean, at: number): Promise<UpdateOutcome> {
    if (!active) {
      const stopped = await this.#call('typingStop', () => this.#backend.typingStop(ref, at));
      this.#relayTyping(ref, false);
      return stopped ? 'ok' : 'error';
    }
    const result = await this.#call('typingStart', () => this.#backend.typingStart(ref, at));
    // Stale (a later stop came first) or its session is gone: the members must not see it start.
    if (result?.outcome !== 'stale' && result?.outcome !== 'sessionEnded') this.#relayTyping(ref, true);
    return result ? 'ok' : 'error';
  }

  /** Applies one update and publishes the transitions it caused. */
  async #apply(gatewayId: string, kind: NonNullable<SessionChange['kind']>, at: number): Promise<UpdateOutcome> {
    switch (kind.$case) {
      case 'up': {
        const { userId, sessionId } = kind.value;
        if (!validRef(kind.value)) return this.#invalidRef(gatewayId, kind.$case, kind.value);
        const result = await this.#call('sessionUp', () => this.#backend.sessionUp(userId, sessionId, gatewayId, at));
        if (!result) return 'error';
        if (result.cameOnline) this.#publishChange(userId, true, undefined);
        return 'ok';
      }
      case 'down': {
        const { userId, sessionId } = kind.value;
        if (!validRef(kind.value)) return this.#invalidRef(gatewayId, kind.$case, kind.value);
        const result = await this.#call('sessionDown', () => this.#backend.sessionDown(userId, sessionId, at));
        if (result?.wentOffline) this.#publishChange(userId, false, result.lastSeen);
        // The session's typing ends with it (tried even if the down failed: these are separate leases).
        const typing = await this.#call('endSessionTyping', () => this.#backend.endSessionTyping(userId, sessionId));
        this.#announceTypingEnded(typing ?? [], 'disconnected');
        return result && typing ? 'ok' : 'error';
      }
      case 'heartbeat': {
        const sessions: SessionRef[] = kind.value.sessions.filter(validRef);
        if (sessions.length < kind.value.sessions.length) {
          const invalid = kind.value.sessions.length - sessions.length;
          this.#logThrottled('invalid', 'warn', { gatewayId, invalid }, 'heartbeat with invalid sessions: ignoring those');
        }
        const result = await this.#call('heartbeat', () => this.#backend.heartbeat(gatewayId, sessions, at));
        if (!result) return 'error';
        for (const userId of result.cameOnline) this.#publishChange(userId, true, undefined);
        return 'ok';
      }
    }
  }

  #onQuery(msg: BusMessage): void {
    this.#queriesInFlight++;
    // Tracing on and the query traced (presence.get): a server span under the gateway's request.
    const parent = contextFromHeaders(msg.headers);
    const span = parent && startSpan('presence get', { kind: SpanKind.SERVER, parent });
    const done = (reply: PresenceReply) => {
      const outcome = reply.result?.$case === 'failure' ? reply.result.value.code : 'ok';
      if (span) endSpan(span, outcome === 'ok' ? undefined : outcome);
      this.#metrics.queries.inc({ outcome });
      try {
        msg.respond(PresenceReply.encode(reply).finish());
      } catch (err) {
        this.#logger.warn({ err }, 'cannot answer a presence query');
      }
      if (--this.#queriesInFlight === 0) for (const resolve of this.#queriesIdle.splice(0)) resolve();
    };
    let query: PresenceQuery;
    try {
      query = PresenceQuery.decode(msg.data);
    } catch (err) {
      this.#logger.warn({ err }, 'undecodable presence query');
      done(failure('bad_request', 'undecodable presence query'));
      return;
    }
    this.#call('get', () => this.#backend.get(query.userIds)).then(
      (list) =>
        done(
          list
            ? { result: { $case: 'presence', value: { presence: list.map((p) => ({ userId: p.userId, online: p.online, lastSeen: p.lastSeen ?? undefined })) } } }
            : failure('unavailable', 'presence is unavailable'),
        ),
      (err: unknown) => done(failure('unavailable', err instanceof Error ? err.message : 'presence is unavailable')),
    );
  }

  /** Queues one expiry round, unless one is already waiting. */
  #scheduleExpire(): void {
    if (this.#expireQueued) return;
    this.#expireQueued = true;
    this.#serially(async () => {
      this.#expireQueued = false;
      const now = this.#clock.now();
      const expired = await this.#call('expire', () => this.#backend.expire(now));
      for (const { userId, lastSeen } of expired ?? []) this.#publishChange(userId, false, lastSeen);
      const typing = await this.#call('expireTyping', () => this.#backend.expireTyping(now));
      this.#announceTypingEnded(typing ?? [], 'expired');
    });
  }

  /** Runs `task` after everything queued before it; the chain never rejects. */
  #serially(task: () => Promise<void>): void {
    this.#tail = this.#tail.then(task).catch((err: unknown) => this.#logger.error({ err }, 'presence task failed'));
  }

  /** Calls the backend; on failure logs (throttled), counts and returns undefined. */
  async #call<T>(op: BackendOp, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await fn();
      if (this.#degraded) {
        this.#degraded = false;
        this.#afterOutage();
      }
      return result;
    } catch (err) {
      // Not a failure of the backend: it answers, it only cannot vouch yet that these users are offline.
      if (err instanceof PresenceRebuildingError) throw err;
      this.#degraded = true;
      this.#outageSince ??= this.#clock.now();
      this.#metrics.backendErrors.inc({ op });
      this.#logThrottled(op, 'error', { err, op }, 'presence backend call failed');
      return undefined;
    }
  }

  /**
   * The backend answers again: updates were lost meanwhile, so the gateways
   * re-report, once. If the backend lost its data, whoever noticed the loss
   * (this instance, now or before, or another one) has asked them already:
   * the data then began after this outage did. One check at a time; a failed
   * check leaves the outage open for the next recovery.
   */
  #afterOutage(): void {
    const dataSince = this.#backend.dataSince?.bind(this.#backend);
    if (!dataSince) {
      this.#outageSince = undefined;
      this.#logger.info('presence backend recovered; asking gateways for their sessions');
      this.#askResync();
      return;
    }
    this.#serially(async () => {
      const outageSince = this.#outageSince;
      if (outageSince === undefined) return;
      const since = await this.#call('dataSince', () => dataSince(this.#clock.now()));
      if (since === undefined || this.#outageSince !== outageSince) return;
      this.#outageSince = undefined;
      if (since >= outageSince) return void this.#logger.info('presence backend recovered; its data was lost meanwhile and gateways were asked for their sessions');
      this.#logger.info('presence backend recovered; asking gateways for their sessions');
      this.#askResync();
    });
  }

  /** Has every gateway report its sessions now (SessionReporter answers with a heartbeat). */
  #askResync(): void {
    try {
      this.#bus.publish(PRESENCE_RESYNC_SUBJECT, new Uint8Array());
    } catch (err) {
      this.#logger.warn({ err }, 'cannot ask gateways to resync; their next heartbeats will');
    }
  }

  #publishChange(userId: string, online: boolean, lastSeen: number | undefined): void {
    try {
      this.#bus.publish(PRESENCE_CHANGES_SUBJECT, UserPresenceMessage.encode({ userId, online, lastSeen }).finish());
    } catch (err) {
      this.#logger.warn({ err, userId, online }, 'cannot publish a presence change');
    }
  }

  /** Publishes `typing` active: false for each lease the service ended on its own. */
  #announceTypingEnded(refs: readonly TypingRef[], reason: 'expired' | 'disconnected'): void {
    for (const ref of refs) {
      this.#metrics.typingEnded.inc({ reason });
      this.#relayTyping(ref, false);
    }
  }

  #relayTyping(ref: TypingRef, active: boolean): void {
    try {
      publishTyping(this.#bus, { conversationId: ref.conversationId, userId: ref.userId, active });
    } catch (err) {
      this.#logThrottled('typing-relay', 'warn', { err, conversationId: ref.conversationId, userId: ref.userId }, 'cannot relay typing');
    }
  }

  /** The time of a gateway's update: its own timestamp, never later than our clock. */
  #time(at: number): number {
    const now = this.#clock.now();
    return Number.isFinite(at) && at > 0 ? Math.min(at, now) : now;
  }

  #invalidRef(gatewayId: string, kind: UpdateKind, ref: SessionRef): 'invalid' {
    this.#logThrottled('invalid', 'warn', { gatewayId, kind, userId: ref.userId }, 'session update with an invalid user or session id');
    return 'invalid';
  }

  /** Logs, unless a message with the same key was logged within ERROR_LOG_INTERVAL_MS (a failing backend must not flood the logs). */
  #logThrottled(key: string, level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const last = this.#lastLog.get(key);
    if (last !== undefined && now - last < ERROR_LOG_INTERVAL_MS) return;
    this.#lastLog.set(key, now);
    this.#logger[level](fields, message);
  }
}

/** A session reference safe to store: a user id that may enter a subject, a non-empty session id. */
function validRef(ref: SessionRef): boolean {
  return ID_PATTERN.test(ref.userId) && ref.sessionId.length > 0 && ref.sessionId.length <= 256;
}

function failure(code: string, message: string): PresenceReply {
  return { result: { $case: 'failure', value: { code, message, retryAfterMs: undefined } } };
}
