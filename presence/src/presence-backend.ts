/**
 * Where presence lives: each user's live sessions, each with a lease that the
 * owning gateway's heartbeats renew, and each user's last-seen time. Redis in
 * a cluster, memory in standalone mode; the presence service drives either
 * through this interface and turns its transitions into `presence` events.
 *
 * Model every implementation keeps:
 * - A user is online while they hold at least one session (multi-device).
 * - A session's lease runs `ttlMs` from its last sessionUp() or heartbeat();
 *   expire() drops sessions whose lease ran out, so the users of a gateway that
 *   crashed go offline with nobody calling sessionDown().
 * - State changes only through these calls, and every transition is reported
 *   exactly once: a `cameOnline` (sessionUp, heartbeat) is followed by exactly
 *   one `wentOffline` or expire() entry before the next `cameOnline`.
 * - A session that sessionDown() ended stays ended for one lease: a sessionUp()
 *   or heartbeat() of it arriving later (reordered between presence instances)
 *   is ignored, so it cannot come back online with nobody left to end it.
 * - `lastSeen` is recorded when a user's last session goes (disconnect or
 *   expiry) and kept until the next time that happens; null if never recorded.
 * - A typing lease (one per session and conversation) runs `typingTtlMs` from
 *   its last typingStart(); it ends exactly once: by typingStop() (the client
 *   said so: not announced), or by endSessionTyping() or expireTyping(), which
 *   return it so the caller announces `active: false` once.
 * - Times are milliseconds since the epoch, passed in by the caller.
 */
export interface PresenceBackend {
  /**
   * Registers (or renews) a session of `userId` served by `gatewayId`, leased
   * until `now + ttlMs`. `cameOnline` is true if the user held no session before.
   */
  sessionUp(userId: string, sessionId: string, gatewayId: string, now: number): Promise<{ cameOnline: boolean }>;

  /**
   * A gateway's periodic report of the sessions it still serves: renews each
   * lease to `now + ttlMs`, and re-registers any that expire() already dropped
   * (a gateway that was paused or partitioned for longer than the TTL restores
   * its users). Returns the users this made online again.
   */
  heartbeat(gatewayId: string, sessions: readonly SessionRef[], now: number): Promise<{ cameOnline: string[] }>;

  /**
   * Removes a session (a no-op for one it does not hold). `wentOffline` is true
   * if that was the user's last session; then `now` is recorded as their
   * lastSeen. The returned `lastSeen` is `now`, the moment the session was last seen.
   */
  sessionDown(userId: string, sessionId: string, now: number): Promise<{ wentOffline: boolean; lastSeen: number }>;

  /** The presence of each requested user, in the order asked (unknown users: offline, lastSeen null). */
  get(userIds: readonly string[]): Promise<UserPresence[]>;

  /**
   * How many users are online across the whole deployment (holding at least
   * one session, expired ones not yet dropped by expire() included). Every
   * caller sharing the backend gets the same figure; cheap enough for every scrape.
   */
  onlineUsers(): Promise<number>;

  /**
   * Drops every session whose lease ended at or before `now`, and returns the
   * users left with none (each once), their lastSeen being their latest renewal.
   * Call it periodically; until it runs, an unrenewed session still counts.
   */
  expire(now: number): Promise<{ userId: string; lastSeen: number }[]>;

  /**
   * The session `ref.sessionId` of `ref.userId` is typing in
   * `ref.conversationId` (the conversation's actor accepted it): starts, or
   * renews, its typing lease to `now + typingTtlMs` (never shortening it).
   * - `started`: no lease before; `renewed`: one was running.
   * - `stale`: ignored, a typingStop() of this lease timed at or after `now`
   *   was already applied (the two arrived out of order).
   * - `sessionEnded`: ignored, sessionDown() already ended that session (its
   *   down overtook this report): nobody will end this typist, so the caller
   *   announces the end itself.
   */
  typingStart(ref: TypingRef, now: number): Promise<{ outcome: 'started' | 'renewed' | 'stale' | 'sessionEnded' }>;

  /**
   * The typist stopped on its own (an explicit `active: false`): ends its lease
   * without anyone announcing it. `wasTyping` is true if a lease was running.
   * Remembered for one typing TTL, so a typingStart() timed at or before `now`
   * that arrives later is ignored.
   */
  typingStop(ref: TypingRef, now: number): Promise<{ wasTyping: boolean }>;

  /**
   * The session went away: ends every typing lease it held and returns them,
   * each to be announced. A lease is returned by exactly one of
   * endSessionTyping() and expireTyping(), once, even with several callers.
   */
  endSessionTyping(userId: string, sessionId: string): Promise<TypingRef[]>;

  /**
   * Ends every typing lease that ran out at or before `now` and returns them,
   * each exactly once over all callers (two presence instances running the
   * round at once split them). Call it periodically; a large backlog may take
   * several rounds.
   */
  expireTyping(now: number): Promise<TypingRef[]>;

  /**
   * Where the backend can lose its data while the service runs (Redis
   * restarted empty): calls `listener` each time a call finds it lost, so the
   * service asks every gateway to re-report its sessions at once. Until they
   * have (one rebuild window), get() rejects with PresenceRebuildingError for
   * users it cannot vouch are offline.
   */
  onDataLost?(listener: () => void): void;

  /**
   * Where the backend can lose its data: when the data it holds began (ms;
   * `now` if it finds none, which is a loss, reported to onDataLost's
   * listeners by this very call). The service reads it at start and after an
   * outage, to tell a loss (gateways must re-report) from a backend that was
   * only unreachable, and to ask the gateways once per loss.
   */
  dataSince?(now: number): Promise<number>;

  /** Releases the backend; idempotent. Later calls reject with PresenceClosedError. */
  close(): Promise<void>;
}

/** One session as a gateway knows it. */
export interface SessionRef {
  userId: string;
  sessionId: string;
}

/** One session typing in one conversation: the key of a typing lease. */
export interface TypingRef {
  conversationId: string;
  userId: string;
  sessionId: string;
}

/** A user's presence as clients see it (`presence.get`, `presence` events). */
export interface UserPresence {
  userId: string;
  online: boolean;
  lastSeen: number | null;
}
