import type { TypingRef } from './presence-backend.js';

// Typing keys (p = prefix; see redis-presence-backend.ts for the session keys):
// p..'typ' a sorted set of typing leases 'conversation user session' by lease
// end, the typing expiry index; p..'ts:'..user..' '..session a set of the
// conversations that session is typing in, so its typing ends with it;
// p..'tstop:'..lease the time of an explicit stop, kept for one typing TTL, so
// a start timed before it that arrives later (another presence instance) is
// ignored. Conversation and user ids never hold spaces (ID_PATTERN), session
// ids may: they go last. Each transition is one script, so with any number of
// presence instances each lease ends, and is returned, exactly once.

/** ARGV: prefix, typing ttl, now, conversation, user, session. Returns the outcome. */
const START = `
local p, ttl, now, c, u, s = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
-- The session's down overtook this start: nobody would ever end this lease.
if redis.call('EXISTS', p .. 'gone:' .. u .. ' ' .. s) == 1 then return 'sessionEnded' end
local m = c .. ' ' .. u .. ' ' .. s
local stop = p .. 'tstop:' .. m
local stoppedAt = redis.call('GET', stop)
if stoppedAt and tonumber(stoppedAt) >= now then return 'stale' end
redis.call('DEL', stop)
local prev = redis.call('ZSCORE', p .. 'typ', m)
local ends = now + ttl
-- A late report never shortens a lease a newer call granted.
if prev and tonumber(prev) > ends then ends = tonumber(prev) end
redis.call('ZADD', p .. 'typ', ends, m)
if prev then return 'renewed' end
redis.call('SADD', p .. 'ts:' .. u .. ' ' .. s, c)
return 'started'`;

/** ARGV: prefix, typing ttl, now, conversation, user, session. Returns 1 if a lease was running. */
const STOP = `
local p, ttl, now, c, u, s = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local m = c .. ' ' .. u .. ' ' .. s
local stop = p .. 'tstop:' .. m
local prevStop = redis.call('GET', stop)
if not prevStop or tonumber(prevStop) < tonumber(now) then redis.call('SET', stop, now, 'PX', ttl) end
if redis.call('ZREM', p .. 'typ', m) == 0 then return 0 end
redis.call('SREM', p .. 'ts:' .. u .. ' ' .. s, c)
return 1`;

/** ARGV: prefix, user, session. Returns the conversations whose leases it ended. */
const END_SESSION = `
local p, u, s = ARGV[1], ARGV[2], ARGV[3]
local idx = p .. 'ts:' .. u .. ' ' .. s
local out = {}
for _, c in ipairs(redis.call('SMEMBERS', idx)) do
  if redis.call('ZREM', p .. 'typ', c .. ' ' .. u .. ' ' .. s) == 1 then out[#out + 1] = c end
end
redis.call('DEL', idx)
return out`;

/** ARGV: prefix, now, limit. Returns the leases ('conversation user session') it ended. */
const EXPIRE = `
local p, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', p .. 'typ', '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(due) do
  redis.call('ZREM', p .. 'typ', m)
  local a = string.find(m, ' ', 1, true)
  local b = string.find(m, ' ', a + 1, true)
  local c, u, s = string.sub(m, 1, a - 1), string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
  redis.call('SREM', p .. 'ts:' .. u .. ' ' .. s, c)
end
return due`;

/** The typing scripts by command name, for ioredis defineCommand (no declared keys: see the note above). */
export const TYPING_SCRIPTS = {
  typingStart: START,
  typingStop: STOP,
  typingEndSession: END_SESSION,
  typingExpire: EXPIRE,
} as const;

/** The commands TYPING_SCRIPTS define on an ioredis client. */
export interface TypingScripted {
  typingStart(...args: (string | number)[]): Promise<'started' | 'renewed' | 'stale' | 'sessionEnded'>;
  typingStop(...args: (string | number)[]): Promise<number>;
  typingEndSession(...args: (string | number)[]): Promise<string[]>;
  typingExpire(...args: (string | number)[]): Promise<string[]>;
}

/** A lease member 'conversation user session' back into its parts. */
export function parseTypingMember(member: string): TypingRef {
  const a = member.indexOf(' ');
  const b = member.indexOf(' ', a + 1);
  return { conversationId: member.slice(0, a), userId: member.slice(a + 1, b), sessionId: member.slice(b + 1) };
}
