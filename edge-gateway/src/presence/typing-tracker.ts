/** PROTOCOL.md: a typist who sent no new `typing active: true` for 6 s is reported stopped. */
export const DEFAULT_TYPING_EXPIRY_MS = 6000;

/**
 * Conversations one session may be typing in at once. Past it, arming another
 * stops the one armed longest ago, so a session can never hold more timers.
 */
export const DEFAULT_MAX_TYPING_PER_SESSION = 16;

/** Who is typing: a session and its user, as the stop request must name them. */
export interface Typist {
  sessionId: string;
  user: { id: string; name: string };
}

export interface TypingTrackerOptions {
  /** Quiet time after the last `active: true` before the server stops the typist. */
  expiryMs: number;
  /** Most conversations armed per session (see DEFAULT_MAX_TYPING_PER_SESSION). */
  maxPerSession: number;
  /**
   * Called when the server must send `active: false` on the typist's behalf:
   * its timer ran out, its session closed, or it was evicted by the cap.
   */
  onStop(typist: Typist, conversationId: string): void;
}

interface SessionTyping {
  typist: Typist;
  /** conversationId → expiry timer, oldest armed first. */
  timers: Map<string, NodeJS.Timeout>;
}

/**
 * The typing state of one gateway's sessions: an expiry timer per (session,
 * conversation) the session said it is typing in. Memory only, per session,
 * like everything a gateway keeps; a typist on a gateway that dies is never
 * stopped by anyone (clients also forget a typing indicator on their own).
 *
 * Guarantees:
 * - onStop fires at most once per arming: after `expiryMs` without a new
 *   active(), at sessionClosed(), or on eviction by the per-session cap;
 *   never after inactive() (the client stopped explicitly).
 * - At most `maxPerSession` timers per session, and none left for a session
 *   after sessionClosed() (unless a late active() re-arms it; that one
 *   expires on its own).
 */
export class TypingTracker {
  readonly #sessions = new Map<string, SessionTyping>();

  constructor(private readonly o: TypingTrackerOptions) {
    if (!Number.isFinite(o.expiryMs) || o.expiryMs <= 0) throw new RangeError(`expiryMs must be a positive number, got ${o.expiryMs}`);
    if (!Number.isInteger(o.maxPerSession) || o.maxPerSession < 1) throw new RangeError(`maxPerSession must be a positive integer, got ${o.maxPerSession}`);
  }

  /** Timers armed over all sessions. */
  get size(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += s.timers.size;
    return n;
  }

  /** Whether `sessionId` is currently typing in `conversationId`. */
  isTyping(sessionId: string, conversationId: string): boolean {
    return this.#sessions.get(sessionId)?.timers.has(conversationId) ?? false;
  }

  /** The typist said `active: true`: (re)arms its expiry timer for the conversation. */
  active(typist: Typist, conversationId: string): void {
    let session = this.#sessions.get(typist.sessionId);
    if (!session) this.#sessions.set(typist.sessionId, (session = { typist, timers: new Map() }));
    const existing = session.timers.get(conversationId);
    if (existing) {
      clearTimeout(existing);
      // Re-inserted below: the map stays ordered by last arming, oldest first.
      session.timers.delete(conversationId);
    } else if (session.timers.size >= this.o.maxPerSession) {
      const [oldest, timer] = session.timers.entries().next().value!;
      clearTimeout(timer);
      session.timers.delete(oldest);
      this.#stop(session.typist, oldest);
    }
    const owner = session;
    const timer = setTimeout(() => {
      if (owner.timers.get(conversationId) !== timer) return;
      this.#disarm(owner, conversationId);
      this.#stop(owner.typist, conversationId);
    }, this.o.expiryMs);
    timer.unref();
    session.timers.set(conversationId, timer);
  }

  /** The typist said `active: false` itself: cancels the timer, nothing is sent. */
  inactive(sessionId: string, conversationId: string): void {
    const session = this.#sessions.get(sessionId);
    const timer = session?.timers.get(conversationId);
    if (!session || !timer) return;
    clearTimeout(timer);
    this.#disarm(session, conversationId);
  }

  /** The session closed: stops it in every conversation it was typing in. */
  sessionClosed(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    this.#sessions.delete(sessionId);
    for (const [conversationId, timer] of session.timers) {
      clearTimeout(timer);
      this.#stop(session.typist, conversationId);
    }
    session.timers.clear();
  }

  /** Cancels every timer without stopping anyone (the gateway is gone). */
  clear(): void {
    for (const session of this.#sessions.values()) for (const timer of session.timers.values()) clearTimeout(timer);
    this.#sessions.clear();
  }

  #disarm(session: SessionTyping, conversationId: string): void {
    session.timers.delete(conversationId);
    if (session.timers.size === 0 && this.#sessions.get(session.typist.sessionId) === session) this.#sessions.delete(session.typist.sessionId);
  }

  #stop(typist: Typist, conversationId: string): void {
    this.o.onStop(typist, conversationId);
  }
}
