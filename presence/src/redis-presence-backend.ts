import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULT_PRESENCE_KEY_PREFIX, DEFAULT_TYPING_TTL_MS } from './config.js';
import { PresenceClosedError, PresenceRebuildingError, PresenceUnavailableError } from './errors.js';
import type { PresenceBackend, SessionRef, TypingRef, UserPresence } from './presence-backend.js';
import { createRedisClient, parseRedisUrl } from './redis-target.js';
import { TYPING_SCRIPTS, type TypingScripted, parseTypingMember } from './redis-typing-scripts.js';

export interface RedisPresenceBackendOptions {
  /** REDIS_URL: `redis://host:port[/db]`, or `redis-sentinel://…` (redis-target.ts). */
  url: string;
  /** How long a session stays without a heartbeat before expire() drops it. */
  ttlMs: number;
  /** How long a typing lease runs without a new typingStart(); default DEFAULT_TYPING_TTL_MS. */
  typingTtlMs?: number;
  /** Prefix of every key, so several deployments can share one Redis; default DEFAULT_PRESENCE_KEY_PREFIX. */
  keyPrefix?: string;
  /** Per-command deadline; a slower Redis counts as down. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Called with each command's duration and outcome, for metrics. */
  observe?: (op: string, seconds: number, ok: boolean) => void;
  /**
   * How long after Redis lost its presence data (restarted empty, flushed)
   * get() answers PresenceRebuildingError instead of `offline` for users not
   * re-reported yet. Default `ttlMs`: every live session is renewed within a
   * lease (the gateways' heartbeat interval is well under it), so by then
   * whoever is not back is offline indeed. 0 turns the window off.
   */
  rebuildWindowMs?: number;
  /** The clock get() judges the rebuild window by; default Date.now. */
  now?: () => number;
}

/** Sessions a single heartbeat script renews; bigger heartbeats are split so Redis is never blocked long. */
const HEARTBEAT_CHUNK = 500;
/** Expired sessions one expire() round takes, and typing leases one expireTyping() takes; the next round takes the rest. */
const EXPIRE_CHUNK = 1000;

// Keys (p = prefix): p..'s:'..user is a hash sessionId → last renewal (ms);
// p..'exp' a sorted set of 'user session' by lease end, the expiry index;
// p..'seen' a hash userId → lastSeen (ms); p..'online' the number of users
// online (kept by the same scripts, at each transition). A user is online while their
// session hash exists. Every transition runs in one script, so with any
// number of presence instances each comes-online and goes-offline happens
// (and is reported) exactly once. p..'gone:'..user..' '..session marks an ended session
// for one lease, so an up or heartbeat overtaken by its down is ignored. Keys are built inside the scripts, so this
// needs a single Redis (or a primary with replicas), not Redis Cluster.
// The typing leases' keys and scripts are in redis-typing-scripts.ts.
// p..'since' is when this Redis's presence data began. The first get, expiry
// round or dataSince() that finds it missing writes the time: right after
// Redis lost its data (restarted empty, flushed), or at a deployment's first
// start. The two look the same (a presence instance starting on an empty
// Redis may be one that restarted with it while gateways kept their
// sessions), so both are a loss. For one rebuild window after it, users
// without a session may just not have been re-reported yet (see
// RedisPresenceBackendOptions.rebuildWindowMs).

/** Lua: `since` (and whether it was missing) of the presence data; needs p and now. Exactly one caller finds it missing per loss. */
const SINCE = `
local since, lost = redis.call('GET', p .. 'since'), 0
if not since then
  since, lost = now, 1
  redis.call('SET', p .. 'since', now)
end`;

/** ARGV: prefix, ttl, now, then user, session pairs. Returns the users this brought online. */
const UPSERT = `
local p, ttl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local came = {}
for i = 4, #ARGV, 2 do
  local u, s = ARGV[i], ARGV[i + 1]
  local key = p .. 's:' .. u
  -- A session that already ended stays ended: its up (or a heartbeat taken before
  -- it closed) can arrive after its down when another presence instance handled that.
  if redis.call('EXISTS', p .. 'gone:' .. u .. ' ' .. s) == 0 then
    local online = redis.call('EXISTS', key) == 1
    local prev = redis.call('HGET', key, s)
    local renewed = now
    -- A late report never shortens a lease a newer call granted.
    if prev and tonumber(prev) > now then renewed = tonumber(prev) end
    redis.call('HSET', key, s, renewed)
    redis.call('ZADD', p .. 'exp', renewed + ttl, u .. ' ' .. s)
    if not online then
      came[#came + 1] = u
      redis.call('INCR', p .. 'online')
    end
  end
end
return came`;

/** ARGV: prefix, user, session, now, ttl, rebuild window. Returns 1 if that was the user's last session. */
const DOWN = `
local p, u, s, now, ttl, window = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local key = p .. 's:' .. u
-- Remembered for a lease, so a late up or heartbeat of this session cannot bring it back.
local first = redis.call('SET', p .. 'gone:' .. u .. ' ' .. s, 1, 'PX', ttl, 'NX')
if redis.call('HDEL', key, s) == 0 then
  -- Its up has not been applied yet (another instance): the user was still seen until now.
  if first and redis.call('EXISTS', key) == 0 then
    local prev = redis.call('HGET', p .. 'seen', u)
    if not prev or tonumber(prev) < tonumber(now) then redis.call('HSET', p .. 'seen', u, now) end
    -- Within the rebuild window after Redis lost its data, the user may have been online
    -- (shown so to others) and not re-reported yet: their going offline is announced.
    local since = redis.call('GET', p .. 'since')
    if window > 0 and (not since or tonumber(now) < tonumber(since) + window) then return 1 end
  end
  return 0
end
redis.call('ZREM', p .. 'exp', u .. ' ' .. s)
if redis.call('EXISTS', key) == 1 then return 0 end
redis.call('HSET', p .. 'seen', u, now)
redis.call('DECR', p .. 'online')
return 1`;

/**
 * ARGV: prefix, now, limit. Returns whether the data was lost (1: `since` was
 * missing), then user, lastSeen pairs of the users it took offline.
 */
const EXPIRE = `
local p, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
${SINCE}
local due = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, limit)
local latest, order = {}, {}
for _, m in ipairs(due) do
  local sp = string.find(m, ' ', 1, true)
  local u, s = string.sub(m, 1, sp - 1), string.sub(m, sp + 1)
  redis.call('ZREM', p .. 'exp', m)
  local renewed = redis.call('HGET', p .. 's:' .. u, s)
  if renewed then
    redis.call('HDEL', p .. 's:' .. u, s)
    if latest[u] == nil then order[#order + 1] = u end
    if latest[u] == nil or tonumber(renewed) > tonumber(latest[u]) then latest[u] = renewed end
  end
end
local out = {lost}
for _, u in ipairs(order) do
  if redis.call('EXISTS', p .. 's:' .. u) == 0 then
    redis.call('HSET', p .. 'seen', u, latest[u])
    redis.call('DECR', p .. 'online')
    out[#out + 1] = u
    out[#out + 1] = latest[u]
  end
end
return out`;

/**
 * ARGV: prefix, now, then user ids. Returns whether the data was lost, `since`,
 * then online flag, lastSeen (or false) per user.
 */
const GET = `
local p, now = ARGV[1], tonumber(ARGV[2])
${SINCE}
local out = {lost, tostring(since)}
for i = 3, #ARGV do
  out[#out + 1] = redis.call('EXISTS', p .. 's:' .. ARGV[i])
  out[#out + 1] = redis.call('HGET', p .. 'seen', ARGV[i])
end
return out`;

/** ARGV: prefix, now. Returns whether the data was lost, and `since`. */
const SINCE_ONLY = `
local p, now = ARGV[1], tonumber(ARGV[2])
${SINCE}
return {lost, tostring(since)}`;

type Scripted = Redis &
  TypingScripted & {
  presenceUpsert(...args: (string | number)[]): Promise<string[]>;
  presenceDown(...args: (string | number)[]): Promise<number>;
  presenceExpire(...args: (string | number)[]): Promise<(string | number)[]>;
  presenceGet(...args: (string | number)[]): Promise<(number | string | null)[]>;
  presenceSince(...args: (string | number)[]): Promise<(number | string)[]>;
};

/**
 * The PresenceBackend of cluster mode: presence in Redis (ioredis), shared by
 * any number of stateless presence instances. Redis needs no persistence:
 * after it restarts empty (or when a presence instance first meets an empty
 * Redis), the first call that reads the `since` key notices it is gone, the
 * service asks the gateways to re-report (onDataLost), and for one
 * rebuild window get() answers PresenceRebuildingError rather than `offline`
 * for users not back yet; the online-user count is rebuilt by the same
 * re-reports. While Redis is unreachable every call fails at once with
 * PresenceUnavailableError (no offline queue), so callers answer
 * `unavailable` instead of waiting, and messaging never depends on it.
 */
export class RedisPresenceBackend implements PresenceBackend {
  readonly #redis: Scripted;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #typingTtlMs: number;
  readonly #observe: NonNullable<RedisPresenceBackendOptions['observe']>;
  readonly #rebuildWindowMs: number;
  readonly #now: () => number;
  readonly #dataLostListeners: (() => void)[] = [];
  #closed = false;

  constructor(options: RedisPresenceBackendOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${options.ttlMs}`);
    const typingTtlMs = options.typingTtlMs ?? DEFAULT_TYPING_TTL_MS;
    if (!Number.isFinite(typingTtlMs) || typingTtlMs <= 0) throw new RangeError(`typingTtlMs must be a positive number, got ${typingTtlMs}`);
    this.#ttlMs = Math.round(options.ttlMs);
    this.#typingTtlMs = Math.max(1, Math.round(typingTtlMs));
    this.#prefix = options.keyPrefix ?? DEFAULT_PRESENCE_KEY_PREFIX;
    this.#observe = options.observe ?? (() => {});
    this.#rebuildWindowMs = Math.max(0, Math.round(options.rebuildWindowMs ?? this.#ttlMs));
    this.#now = options.now ?? Date.now;
    const redisOptions: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      // Reconnect forever, backing off to 1 s: Redis coming back must need no restart here.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      lazyConnect: false,
    };
    const redis = createRedisClient(parseRedisUrl(options.url), redisOptions);
    // Errors surface on the calls that fail; without a listener ioredis would log each reconnect attempt.
    redis.on('error', () => {});
    redis.defineCommand('presenceUpsert', { numberOfKeys: 0, lua: UPSERT });
    redis.defineCommand('presenceDown', { numberOfKeys: 0, lua: DOWN });
    redis.defineCommand('presenceExpire', { numberOfKeys: 0, lua: EXPIRE });
    redis.defineCommand('presenceGet', { numberOfKeys: 0, lua: GET });
    redis.defineCommand('presenceSince', { numberOfKeys: 0, lua: SINCE_ONLY });
    for (const [name, lua] of Object.entries(TYPING_SCRIPTS)) redis.defineCommand(name, { numberOfKeys: 0, lua });
    this.#redis = redis as Scripted;
  }

  /** Resolves once connected to Redis, or rejects after `timeoutMs` (the backend keeps trying either way). */
  async ready(timeoutMs: number): Promise<void> {
    if (this.#redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#redis.off('ready', onReady);
        reject(new PresenceUnavailableError(`Redis not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#redis.once('ready', onReady);
    });
  }

  sessionUp(userId: string, sessionId: string, _gatewayId: string, now: number): Promise<{ cameOnline: boolean }> {
    return this.#call('sessionUp', async () => {
      const came = await this.#redis.presenceUpsert(this.#prefix, this.#ttlMs, ms(now), userId, sessionId);
      return { cameOnline: came.length > 0 };
    });
  }

  heartbeat(_gatewayId: string, sessions: readonly SessionRef[], now: number): Promise<{ cameOnline: string[] }> {
    return this.#call('heartbeat', async () => {
      const cameOnline: string[] = [];
      for (let i = 0; i < sessions.length; i += HEARTBEAT_CHUNK) {
        const args: (string | number)[] = [this.#prefix, this.#ttlMs, ms(now)];
        for (const s of sessions.slice(i, i + HEARTBEAT_CHUNK)) args.push(s.userId, s.sessionId);
        cameOnline.push(...(await this.#redis.presenceUpsert(...args)));
      }
      return { cameOnline };
    });
  }

  sessionDown(userId: string, sessionId: string, now: number): Promise<{ wentOffline: boolean; lastSeen: number }> {
    return this.#call('sessionDown', async () => {
      const last = await this.#redis.presenceDown(this.#prefix, userId, sessionId, ms(now), this.#ttlMs, this.#rebuildWindowMs);
      return { wentOffline: last === 1, lastSeen: ms(now) };
    });
  }

  /**
   * As PresenceBackend.get, except within the rebuild window after Redis lost
   * its data: then, if any of the users holds no session, it rejects with
   * PresenceRebuildingError (they may be online, not re-reported yet).
   */
  async get(userIds: readonly string[]): Promise<UserPresence[]> {
    if (userIds.length === 0) return [];
    const now = ms(this.#now());
    const { since, list } = await this.#call('get', async () => {
      const flat = await this.#redis.presenceGet(this.#prefix, now, ...userIds);
      if (Number(flat[0]) === 1) this.#dataLost();
      return {
        since: Number(flat[1]),
        list: userIds.map((userId, i): UserPresence => {
          const seen = flat[2 * i + 3];
          return { userId, online: Number(flat[2 * i + 2]) === 1, lastSeen: seen === null || seen === undefined ? null : Number(seen) };
        }),
      };
    });
    const until = since + this.#rebuildWindowMs;
    if (now < until && list.some((p) => !p.online)) throw new PresenceRebuildingError(until);
    return list;
  }

  /**
   * Calls `listener` whenever a call finds that Redis lost the presence data
   * (restarted empty): the caller asks the gateways to re-report at once.
   */
  onDataLost(listener: () => void): void {
    this.#dataLostListeners.push(listener);
  }

  /**
   * When the presence data began (ms), writing `now` if it was missing: then
   * the data was lost (or never was), and onDataLost's listeners are called.
   */
  dataSince(now: number): Promise<number> {
    return this.#call('dataSince', async () => {
      const [lost, since] = await this.#redis.presenceSince(this.#prefix, ms(now));
      if (Number(lost) === 1) this.#dataLost();
      return Number(since);
    });
  }

  onlineUsers(): Promise<number> {
    return this.#call('onlineUsers', async () => Math.max(0, Number((await this.#redis.get(`${this.#prefix}online`)) ?? 0)));
  }

  expire(now: number): Promise<{ userId: string; lastSeen: number }[]> {
    return this.#call('expire', async () => {
      const flat = await this.#redis.presenceExpire(this.#prefix, ms(now), EXPIRE_CHUNK);
      if (Number(flat[0]) === 1) this.#dataLost();
      const out: { userId: string; lastSeen: number }[] = [];
      for (let i = 1; i < flat.length; i += 2) out.push({ userId: String(flat[i]), lastSeen: Number(flat[i + 1]) });
      return out;
    });
  }

  typingStart(ref: TypingRef, now: number): Promise<{ outcome: 'started' | 'renewed' | 'stale' | 'sessionEnded' }> {
    return this.#call('typingStart', async () => {
      const outcome = await this.#redis.typingStart(this.#prefix, this.#typingTtlMs, ms(now), ref.conversationId, ref.userId, ref.sessionId);
      return { outcome };
    });
  }

  typingStop(ref: TypingRef, now: number): Promise<{ wasTyping: boolean }> {
    return this.#call('typingStop', async () => {
      const removed = await this.#redis.typingStop(this.#prefix, this.#typingTtlMs, ms(now), ref.conversationId, ref.userId, ref.sessionId);
      return { wasTyping: removed === 1 };
    });
  }

  endSessionTyping(userId: string, sessionId: string): Promise<TypingRef[]> {
    return this.#call('endSessionTyping', async () => {
      const conversations = await this.#redis.typingEndSession(this.#prefix, userId, sessionId);
      return conversations.map((conversationId) => ({ conversationId, userId, sessionId }));
    });
  }

  expireTyping(now: number): Promise<TypingRef[]> {
    return this.#call('expireTyping', async () => {
      const members = await this.#redis.typingExpire(this.#prefix, ms(now), EXPIRE_CHUNK);
      return members.map(parseTypingMember);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#redis.disconnect();
  }

  #dataLost(): void {
    for (const listener of this.#dataLostListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the call goes on.
      }
    }
  }

  async #call<T>(op: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new PresenceClosedError();
    const started = performance.now();
    try {
      const result = await run();
      this.#observe(op, (performance.now() - started) / 1000, true);
      return result;
    } catch (err) {
      this.#observe(op, (performance.now() - started) / 1000, false);
      throw new PresenceUnavailableError(`Redis ${op} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}

/** Whole milliseconds: the scripts keep times as integers, exact in Lua's doubles. */
function ms(t: number): number {
  return Math.round(t);
}
