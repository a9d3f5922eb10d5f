import { PRESENCE_RESYNC_SUBJECT, PRESENCE_SESSIONS_SUBJECT, PRESENCE_TYPING_SUBJECT, SessionChange, type SessionRef, TypingChange } from '@chat/proto';
import type { Bus, Clock, Logger, Subscription } from '@chat/platform';

/**
 * How often a gateway reports its live sessions. The presence service keeps a
 * session for PRESENCE_TTL_MS (default 8 s) after its last report, so a live
 * session survives two lost reports,
 * and a crashed gateway's users go offline within one TTL plus one expiry round.
 */
export const DEFAULT_PRESENCE_HEARTBEAT_MS = 3000;

/**
 * Sessions per heartbeat message. A gateway with more sends several (the
 * service renews what each lists), so no bus message grows past a few hundred
 * KiB (NATS refuses payloads over 1 MiB by default).
 */
export const HEARTBEAT_CHUNK = 2000;

/** Publish failures are logged at most once per this interval (the bus being down must not flood the log). */
const LOG_INTERVAL_MS = 10_000;

export interface SessionReporterOptions {
  bus: Bus;
  /** Unique per gateway incarnation: the presence service tracks leases by it. */
  gatewayId: string;
  heartbeatMs: number;
  /** The sessions this gateway serves now, read at every heartbeat. */
  sessions: () => Iterable<SessionRef>;
  clock: Clock;
  logger: Logger;
}

/** What a gateway reports when a session types: the TypingChange message without its `at`. */
export type TypingReport = Omit<TypingChange, 'at'>;

/**
 * Tells the presence service about this gateway's sessions, on
 * PRESENCE_SESSIONS_SUBJECT: `up` when a session opens, `down` when it
 * closes, and every `heartbeatMs` the full list, which renews their leases
 * (and restores any the service dropped while this gateway was paused or
 * cut off). Also their typing, on PRESENCE_TYPING_SUBJECT, which the service
 * leases and ends (`active: false` to the other members) when the typist goes
 * quiet or its session goes down, even if this gateway dies. Fire and forget:
 * presence never holds up a session, and a lost report is repaired by the next
 * heartbeat or by lease expiry.
 */
export class SessionReporter {
  #timer: NodeJS.Timeout | undefined;
  #resync: Subscription | undefined;
  #lastErrorLog = 0;

  constructor(private readonly o: SessionReporterOptions) {
    if (!Number.isFinite(o.heartbeatMs) || o.heartbeatMs <= 0) throw new RangeError(`heartbeatMs must be a positive number, got ${o.heartbeatMs}`);
  }

  /** Starts the periodic heartbeat, and answers the presence service's resync requests with one at once. Idempotent. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.heartbeat(), this.o.heartbeatMs);
    this.#timer.unref();
    this.#resync = this.o.bus.subscribe(PRESENCE_RESYNC_SUBJECT, () => this.heartbeat());
  }

  /** Stops the heartbeat; `up`/`down` still publish (sessions closing at shutdown report themselves). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#resync?.unsubscribe();
    this.#resync = undefined;
  }

  up(ref: SessionRef): void {
    this.#publish({ $case: 'up', value: ref });
  }

  down(ref: SessionRef): void {
    this.#publish({ $case: 'down', value: ref });
  }

  /**
   * A session typed (`active`) or stopped typing in a conversation, at `at`
   * (when the frame arrived; orders a start against a later stop). Only for a
   * `typing` the conversation's actor accepted, so non-members hold no lease.
   */
  typing(report: TypingReport, at: number): void {
    this.#send(PRESENCE_TYPING_SUBJECT, () => TypingChange.encode({ ...report, at }).finish(), 'typing');
  }

  /** Reports every live session now, in chunks of HEARTBEAT_CHUNK. Also sent by the timer. */
  heartbeat(): void {
    let chunk: SessionRef[] = [];
    for (const ref of this.o.sessions()) {
      chunk.push(ref);
      if (chunk.length === HEARTBEAT_CHUNK) {
        this.#publish({ $case: 'heartbeat', value: { sessions: chunk } });
        chunk = [];
      }
    }
    // An empty heartbeat says nothing the service needs; skip it.
    if (chunk.length > 0) this.#publish({ $case: 'heartbeat', value: { sessions: chunk } });
  }

  #publish(kind: NonNullable<SessionChange['kind']>): void {
    this.#send(PRESENCE_SESSIONS_SUBJECT, () => SessionChange.encode({ gatewayId: this.o.gatewayId, at: this.o.clock.now(), kind }).finish(), kind.$case);
  }

  #send(subject: string, encode: () => Uint8Array, kind: string): void {
    try {
      this.o.bus.publish(subject, encode());
    } catch (err) {
      const now = Date.now();
      if (now - this.#lastErrorLog < LOG_INTERVAL_MS) return;
      this.#lastErrorLog = now;
      this.o.logger.warn({ err, kind }, 'cannot report sessions to presence');
    }
  }
}
