import { DEFAULT_TYPING_TTL_MS } from './config.js';
import { PresenceClosedError } from './errors.js';
import { MemoryTypingLeases } from './memory-typing-leases.js';
import type { PresenceBackend, SessionRef, TypingRef, UserPresence } from './presence-backend.js';

interface SessionLease {
  gatewayId: string;
  /** Last sessionUp() or heartbeat(); the lease ends at renewedAt + ttlMs. */
  renewedAt: number;
}

export interface MemoryPresenceBackendOptions {
  /** How long a session stays without a heartbeat before expire() drops it. */
  ttlMs: number;
  /** How long a typing lease runs without a new typingStart(); default DEFAULT_TYPING_TTL_MS. */
  typingTtlMs?: number;
}

/**
 * The PresenceBackend of standalone mode: everything in this process's memory,
 * with the same model as the Redis backend. No timers: the caller passes the
 * time to every call and runs expire() on its own schedule.
 */
export class MemoryPresenceBackend implements PresenceBackend {
  readonly #ttlMs: number;
  /** userId → sessionId → lease; a user is present here exactly while online. */
  readonly #sessions = new Map<string, Map<string, SessionLease>>();
  readonly #lastSeen = new Map<string, number>();
  /** Ended sessions ('user session') → when they ended: a late up or heartbeat of one is ignored for a lease. */
  readonly #gone = new Map<string, number>();
  readonly #typing: MemoryTypingLeases;
  #closed = false;

  constructor(options: MemoryPresenceBackendOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${options.ttlMs}`);
    const typingTtlMs = options.typingTtlMs ?? DEFAULT_TYPING_TTL_MS;
    if (!Number.isFinite(typingTtlMs) || typingTtlMs <= 0) throw new RangeError(`typingTtlMs must be a positive number, got ${typingTtlMs}`);
    this.#ttlMs = options.ttlMs;
    this.#typing = new MemoryTypingLeases(typingTtlMs);
  }

  async sessionUp(userId: string, sessionId: string, gatewayId: string, now: number): Promise<{ cameOnline: boolean }> {
    this.#check();
    return { cameOnline: this.#upsert(userId, sessionId, gatewayId, now) };
  }

  async heartbeat(gatewayId: string, sessions: readonly SessionRef[], now: number): Promise<{ cameOnline: string[] }> {
    this.#check();
    const cameOnline: string[] = [];
    for (const { userId, sessionId } of sessions) {
      if (this.#upsert(userId, sessionId, gatewayId, now)) cameOnline.push(userId);
    }
    return { cameOnline };
  }

  async sessionDown(userId: string, sessionId: string, now: number): Promise<{ wentOffline: boolean; lastSeen: number }> {
    this.#check();
    const key = `${userId} ${sessionId}`;
    const first = !this.#gone.has(key);
    if (first) this.#gone.set(key, now);
    const user = this.#sessions.get(userId);
    if (!user?.delete(sessionId)) {
      // Its up has not been applied yet (reordered between instances): the user was still seen until now.
      if (first && !user) this.#lastSeen.set(userId, Math.max(this.#lastSeen.get(userId) ?? -Infinity, now));
      return { wentOffline: false, lastSeen: now };
    }
    if (user.size > 0) return { wentOffline: false, lastSeen: now };
    this.#sessions.delete(userId);
    this.#lastSeen.set(userId, now);
    return { wentOffline: true, lastSeen: now };
  }

  async onlineUsers(): Promise<number> {
    this.#check();
    return this.#sessions.size;
  }

  async get(userIds: readonly string[]): Promise<UserPresence[]> {
    this.#check();
    return userIds.map((userId) => ({
      userId,
      online: this.#sessions.has(userId),
      lastSeen: this.#lastSeen.get(userId) ?? null,
    }));
  }

  async expire(now: number): Promise<{ userId: string; lastSeen: number }[]> {
    this.#check();
    const wentOffline: { userId: string; lastSeen: number }[] = [];
    for (const [key, endedAt] of this.#gone) if (endedAt + this.#ttlMs <= now) this.#gone.delete(key);
    for (const [userId, user] of this.#sessions) {
      let latest = -Infinity;
      for (const [sessionId, lease] of user) {
        if (lease.renewedAt + this.#ttlMs <= now) {
          user.delete(sessionId);
          latest = Math.max(latest, lease.renewedAt);
        }
      }
      if (user.size === 0) {
        this.#sessions.delete(userId);
        this.#lastSeen.set(userId, latest);
        wentOffline.push({ userId, lastSeen: latest });
      }
    }
    return wentOffline;
  }

  async typingStart(ref: TypingRef, now: number): Promise<{ outcome: 'started' | 'renewed' | 'stale' | 'sessionEnded' }> {
    this.#check();
    return { outcome: this.#typing.start(ref, now, this.#gone.has(`${ref.userId} ${ref.sessionId}`)) };
  }

  async typingStop(ref: TypingRef, now: number): Promise<{ wasTyping: boolean }> {
    this.#check();
    return { wasTyping: this.#typing.stop(ref, now) };
  }

  async endSessionTyping(userId: string, sessionId: string): Promise<TypingRef[]> {
    this.#check();
    return this.#typing.endSession(userId, sessionId);
  }

  async expireTyping(now: number): Promise<TypingRef[]> {
    this.#check();
    return this.#typing.expire(now);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#typing.clear();
    this.#sessions.clear();
    this.#lastSeen.clear();
    this.#gone.clear();
  }

  /** Registers or renews a session; true if it made the user online. */
  #upsert(userId: string, sessionId: string, gatewayId: string, now: number): boolean {
    if (this.#gone.has(`${userId} ${sessionId}`)) return false;
    let user = this.#sessions.get(userId);
    const cameOnline = user === undefined;
    if (!user) this.#sessions.set(userId, (user = new Map()));
    const lease = user.get(sessionId);
    // A late report never shortens a lease a newer call granted.
    if (lease) {
      lease.gatewayId = gatewayId;
      lease.renewedAt = Math.max(lease.renewedAt, now);
    } else user.set(sessionId, { gatewayId, renewedAt: now });
    return cameOnline;
  }

  #check(): void {
    if (this.#closed) throw new PresenceClosedError();
  }
}
