import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { type RedisServerProcess, startRedisServer } from '@chat/testkit/servers';
import { PresenceRebuildingError, PresenceUnavailableError } from './errors.js';
import { CONTRACT_TTL_MS, CONTRACT_TYPING_TTL_MS, runPresenceBackendContract } from '@chat/testkit/presence-backend-contract';
import { RedisPresenceBackend } from './redis-presence-backend.js';

let redis: RedisServerProcess;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/**
 * A backend on the test's Redis with a key prefix of its own, so tests never
 * see each other's users, holding an established deployment's data (its
 * `since` written long ago): these tests are not about a loss.
 */
async function open(ttlMs = CONTRACT_TTL_MS, prefix = `t:${randomUUID()}:`): Promise<RedisPresenceBackend> {
  const admin = new Redis(redis.url);
  await admin.set(`${prefix}since`, '0', 'NX');
  admin.disconnect();
  const backend = new RedisPresenceBackend({ url: redis.url, ttlMs, typingTtlMs: CONTRACT_TYPING_TTL_MS, keyPrefix: prefix });
  await backend.ready(5000);
  return backend;
}

runPresenceBackendContract('redis', () => open());

describe('RedisPresenceBackend', () => {
  const T0 = 1_700_000_000_000;

  it('gives two instances on one Redis the same answers, and reports each transition once between them', async () => {
    const prefix = `t:${randomUUID()}:`;
    const [a, b] = [await open(CONTRACT_TTL_MS, prefix), await open(CONTRACT_TTL_MS, prefix)];
    try {
      expect(await a.sessionUp('alice', 'phone', 'gw1', T0)).toEqual({ cameOnline: true });
      expect(await b.sessionUp('alice', 'laptop', 'gw2', T0)).toEqual({ cameOnline: false });
      expect(await b.get(['alice'])).toEqual(await a.get(['alice']));
      await a.sessionUp('bob', 's', 'gw1', T0);
      // Both run the expiry round at once: bob and alice go offline exactly once in total.
      const rounds = await Promise.all([a.expire(T0 + CONTRACT_TTL_MS), b.expire(T0 + CONTRACT_TTL_MS)]);
      expect(rounds.flat().sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
        { userId: 'alice', lastSeen: T0 },
        { userId: 'bob', lastSeen: T0 },
      ]);
      expect(await a.get(['alice', 'bob'])).toEqual(await b.get(['alice', 'bob']));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ends each typing lease exactly once between two instances running expiry rounds and session ends at once', async () => {
    const prefix = `t:${randomUUID()}:`;
    const [a, b] = [await open(CONTRACT_TTL_MS, prefix), await open(CONTRACT_TTL_MS, prefix)];
    try {
      const refs = Array.from({ length: 300 }, (_, i) => ({ conversationId: `c${i % 30}`, userId: `u${i % 7}`, sessionId: `s ${i % 11}` }));
      const unique = new Map(refs.map((r) => [`${r.conversationId} ${r.userId} ${r.sessionId}`, r]));
      for (const [i, ref] of refs.entries()) await (i % 2 ? a : b).typingStart(ref, T0);
      // Both end session u1/'s 1' while both run the expiry round, twice over.
      const now = T0 + CONTRACT_TYPING_TTL_MS;
      const results = await Promise.all([a.endSessionTyping('u1', 's 1'), b.expireTyping(now), a.expireTyping(now), b.endSessionTyping('u1', 's 1')]);
      const ended = results.flat().map((r) => `${r.conversationId} ${r.userId} ${r.sessionId}`);
      expect(new Set(ended).size, 'no lease reported twice').toBe(ended.length);
      expect(ended.sort()).toEqual([...unique.keys()].sort());
      expect(await a.expireTyping(now + 1)).toEqual([]);
      expect(await b.expireTyping(now + 1)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lets one instance see the typing state another wrote (stop, stale start, session ended)', async () => {
    const prefix = `t:${randomUUID()}:`;
    const [a, b] = [await open(CONTRACT_TTL_MS, prefix), await open(CONTRACT_TTL_MS, prefix)];
    try {
      const ref = { conversationId: 'c1', userId: 'alice', sessionId: 's1' };
      expect(await a.typingStart(ref, T0)).toEqual({ outcome: 'started' });
      expect(await b.typingStart(ref, T0 + 1)).toEqual({ outcome: 'renewed' });
      expect(await b.typingStop(ref, T0 + 3)).toEqual({ wasTyping: true });
      expect(await a.typingStart(ref, T0 + 2)).toEqual({ outcome: 'stale' });
      await a.sessionDown('alice', 's1', T0 + 4);
      expect(await b.typingStart(ref, T0 + 5)).toEqual({ outcome: 'sessionEnded' });
      expect(await a.expireTyping(T0 + 10 * CONTRACT_TYPING_TTL_MS)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails fast with PresenceUnavailableError while Redis is down; back empty, it answers unavailable, not offline, for users not re-reported until one lease passed', async () => {
    const own = await startRedisServer();
    let now = T0;
    const backend = new RedisPresenceBackend({ url: own.url, ttlMs: CONTRACT_TTL_MS, now: () => now });
    let lost = 0;
    backend.onDataLost(() => lost++);
    try {
      await backend.ready(5000);
      await backend.sessionUp('alice', 's1', 'gw1', T0);
      await backend.sessionUp('bob', 's2', 'gw1', T0);
      expect((await backend.get(['alice', 'bob'])).map((p) => p.online)).toEqual([true, true]);
      // It may have restarted together with the presence service while gateways kept their sessions.
      expect(lost, 'an empty Redis met at start counts as lost data').toBe(1);
      await own.kill('SIGKILL');
      const started = Date.now();
      await expect(backend.get(['alice'])).rejects.toBeInstanceOf(PresenceUnavailableError);
      expect(Date.now() - started, 'a call while Redis is down fails at once').toBeLessThan(1500);
      await own.restart();
      await backend.ready(5000);
      now = T0 + 100;
      // Redis keeps nothing on disk: alice is not back until her gateway re-reports her, and until then she is not `offline`.
      await expect(backend.get(['alice'])).rejects.toBeInstanceOf(PresenceRebuildingError);
      expect(lost, 'the loss is noticed (the service then asks gateways to resync)').toBe(2);
      expect(await backend.heartbeat('gw1', [{ userId: 'alice', sessionId: 's1' }], now)).toEqual({ cameOnline: ['alice'] });
      expect(await backend.get(['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: null }]);
      await expect(backend.get(['alice', 'bob']), 'bob not re-reported yet').rejects.toBeInstanceOf(PresenceRebuildingError);
      await backend.heartbeat('gw1', [{ userId: 'alice', sessionId: 's1' }, { userId: 'bob', sessionId: 's2' }], now + 1);
      expect(await backend.onlineUsers(), 'the online count is rebuilt by the re-reports').toBe(2);
      // A session ending before its user was re-reported: the user went offline, and that is announced.
      expect(await backend.sessionDown('dan', 's9', now + 2)).toEqual({ wentOffline: true, lastSeen: now + 2 });
      // One lease after the loss, whoever is not back is offline indeed.
      now = T0 + 100 + CONTRACT_TTL_MS;
      expect(await backend.get(['carol', 'bob'])).toEqual([
        { userId: 'carol', online: false, lastSeen: null },
        { userId: 'bob', online: true, lastSeen: null },
      ]);
      expect(lost).toBe(2);
    } finally {
      await backend.close();
      await own.stop();
    }
  });

  it('reports each loss once between two instances, through whichever call finds it, and dataSince() says when the data began', async () => {
    const prefix = `t:${randomUUID()}:`;
    const [a, b] = [
      new RedisPresenceBackend({ url: redis.url, ttlMs: CONTRACT_TTL_MS, keyPrefix: prefix }),
      new RedisPresenceBackend({ url: redis.url, ttlMs: CONTRACT_TTL_MS, keyPrefix: prefix }),
    ];
    let lost = 0;
    for (const x of [a, b]) x.onDataLost(() => lost++);
    try {
      await Promise.all([a.ready(5000), b.ready(5000)]);
      // Nothing written at connection: the first look finds the data missing.
      const [sa, sb] = await Promise.all([a.dataSince(T0), b.dataSince(T0 + 5)]);
      expect(lost).toBe(1);
      expect(sa).toBe(sb);
      expect(await a.dataSince(T0 + 10)).toBe(sa);
      expect(lost).toBe(1);
      const admin = new Redis(redis.url);
      await admin.del(`${prefix}since`);
      admin.disconnect();
      await Promise.all([a.expire(T0 + 20), b.expire(T0 + 20), a.dataSince(T0 + 20)]);
      expect(lost).toBe(2);
      expect(await b.dataSince(T0 + 30)).toBe(T0 + 20);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('renews a heartbeat of thousands of sessions (split into several scripts)', async () => {
    const backend = await open();
    try {
      const sessions = Array.from({ length: 1234 }, (_, i) => ({ userId: `u${i}`, sessionId: `s${i}` }));
      expect((await backend.heartbeat('gw1', sessions, T0)).cameOnline).toHaveLength(1234);
      expect((await backend.heartbeat('gw1', sessions, T0 + 1)).cameOnline).toEqual([]);
      expect(await backend.expire(T0 + CONTRACT_TTL_MS)).toEqual([]);
      expect(await backend.expire(T0 + 1 + CONTRACT_TTL_MS)).toHaveLength(1000); // one round takes at most 1,000
      expect(await backend.expire(T0 + 1 + CONTRACT_TTL_MS)).toHaveLength(234);
    } finally {
      await backend.close();
    }
  });
});
