import type { TypingRef } from './presence-backend.js';

interface TypingLease {
  ref: TypingRef;
  /** The lease ends (expireTyping() takes it) at this time. */
  endsAt: number;
}

/**
 * The typing leases of MemoryPresenceBackend: the typing half of the
 * PresenceBackend model (see presence-backend.ts) in plain maps. No timers:
 * the caller passes the time and runs expire() on its own schedule.
 */
export class MemoryTypingLeases {
  /** 'conversation user session' → lease. */
  readonly #leases = new Map<string, TypingLease>();
  /** 'user session' → the keys of its leases, so a session's typing ends with it. */
  readonly #bySession = new Map<string, Set<string>>();
  /** Leases typingStop() ended → its time, for one TTL: an older start arriving later is stale. */
  readonly #stopped = new Map<string, number>();

  constructor(private readonly ttlMs: number) {}

  start(ref: TypingRef, now: number, sessionEnded: boolean): 'started' | 'renewed' | 'stale' | 'sessionEnded' {
    if (sessionEnded) return 'sessionEnded';
    const key = leaseKey(ref);
    const stoppedAt = this.#stopped.get(key);
    if (stoppedAt !== undefined && stoppedAt >= now) return 'stale';
    this.#stopped.delete(key);
    const lease = this.#leases.get(key);
    // A late report never shortens a lease a newer call granted.
    if (lease) {
      lease.endsAt = Math.max(lease.endsAt, now + this.ttlMs);
      return 'renewed';
    }
    this.#leases.set(key, { ref: { ...ref }, endsAt: now + this.ttlMs });
    const session = sessionKey(ref.userId, ref.sessionId);
    let keys = this.#bySession.get(session);
    if (!keys) this.#bySession.set(session, (keys = new Set()));
    keys.add(key);
    return 'started';
  }

  stop(ref: TypingRef, now: number): boolean {
    const key = leaseKey(ref);
    this.#stopped.set(key, Math.max(now, this.#stopped.get(key) ?? -Infinity));
    return this.#remove(key) !== undefined;
  }

  endSession(userId: string, sessionId: string): TypingRef[] {
    const keys = this.#bySession.get(sessionKey(userId, sessionId));
    if (!keys) return [];
    const ended: TypingRef[] = [];
    for (const key of [...keys]) {
      const lease = this.#remove(key);
      if (lease) ended.push(lease.ref);
    }
    return ended;
  }

  expire(now: number): TypingRef[] {
    for (const [key, at] of this.#stopped) if (at + this.ttlMs <= now) this.#stopped.delete(key);
    const ended: TypingRef[] = [];
    for (const [key, lease] of this.#leases) {
      if (lease.endsAt > now) continue;
      this.#remove(key);
      ended.push(lease.ref);
    }
    return ended;
  }

  clear(): void {
    this.#leases.clear();
    this.#bySession.clear();
    this.#stopped.clear();
  }

  #remove(key: string): TypingLease | undefined {
    const lease = this.#leases.get(key);
    if (!lease) return undefined;
    this.#leases.delete(key);
    const session = sessionKey(lease.ref.userId, lease.ref.sessionId);
    const keys = this.#bySession.get(session);
    keys?.delete(key);
    if (keys?.size === 0) this.#bySession.delete(session);
    return lease;
  }
}

/** Session ids may hold spaces, so they go last; conversation and user ids never do (ID_PATTERN). */
function leaseKey(ref: TypingRef): string {
  return `${ref.conversationId} ${ref.userId} ${ref.sessionId}`;
}

function sessionKey(userId: string, sessionId: string): string {
  return `${userId} ${sessionId}`;
}
