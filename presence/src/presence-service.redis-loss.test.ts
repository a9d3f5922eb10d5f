import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { LocalBus, silentLogger } from '@chat/platform';
import { PRESENCE_QUERY_SUBJECT, PRESENCE_RESYNC_SUBJECT, PRESENCE_SESSIONS_SUBJECT, PresenceQuery, PresenceReply, SessionChange } from '@chat/proto';
import { type RedisServerProcess, startRedisServer } from '@chat/testkit/servers';
import { RedisPresenceBackend } from './redis-presence-backend.js';
import { PresenceService } from './presence-service.js';

// The service on a real Redis whose data is wiped under it (FLUSHALL: what a
// restart without persistence leaves, with no failed call in between).

let redis: RedisServerProcess;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

const TTL_MS = 4000;

async function until<T>(get: () => Promise<T>, check: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await get();
    if (check(v) || performance.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PresenceService when Redis loses its data', () => {
  it('asks gateways to resync at once, answers unavailable (not offline) until a user is re-reported, and stays up', async () => {
    const bus = new LocalBus();
    const backend = new RedisPresenceBackend({ url: redis.url, ttlMs: TTL_MS });
    await backend.ready(5000);
    const registry = new Registry();
    const service = new PresenceService({ bus, backend, logger: silentLogger(), registry, expireEveryMs: 20 });
    service.start();
    const admin = new Redis(redis.url);
    let resyncs = 0;
    bus.subscribe(PRESENCE_RESYNC_SUBJECT, () => resyncs++);
    const report = (kind: NonNullable<SessionChange['kind']>) =>
      bus.publish(PRESENCE_SESSIONS_SUBJECT, SessionChange.encode({ gatewayId: 'gw1', at: Date.now(), kind }).finish());
    const query = async (userIds: string[]) => PresenceReply.decode((await bus.request(PRESENCE_QUERY_SUBJECT, PresenceQuery.encode({ userIds }).finish(), { timeoutMs: 2000 })).data);
    const online = (r: PresenceReply) => r.result?.$case === 'presence' && r.result.value.presence.every((p) => p.online);
    const unavailable = (r: PresenceReply) => r.result?.$case === 'failure' && r.result.value.code === 'unavailable';
    try {
      report({ $case: 'up', value: { userId: 'alice', sessionId: 'a1' } });
      expect(online(await until(() => query(['alice']), online))).toBe(true);
      // A new deployment: someone never seen is offline at once.
      expect((await query(['nobody'])).result).toMatchObject({ $case: 'presence', value: { presence: [{ userId: 'nobody', online: false }] } });

      await admin.flushall();
      const lost = performance.now();
      // Detected by the next expiry round: gateways are asked to re-report.
      await until(async () => resyncs, (n) => n > 0, 2000);
      expect(resyncs).toBe(1);
      expect(performance.now() - lost).toBeLessThan(1000);
      const during = await query(['alice']);
      expect(unavailable(during), JSON.stringify(during.result)).toBe(true);
      // alice's gateway answers the resync with a heartbeat: online again.
      report({ $case: 'heartbeat', value: { sessions: [{ userId: 'alice', sessionId: 'a1' }] } });
      expect(online(await until(() => query(['alice']), online, 1000))).toBe(true);
      // Not a backend failure: presence is not reported down, and no further resync was asked.
      const up = (await registry.getSingleMetric('chat_presence_backend_up')?.get())?.values[0]?.value;
      expect(up).toBe(1);
      expect(resyncs).toBe(1);
      expect(await backend.onlineUsers()).toBe(1);
      // After one lease, whoever is not back is offline indeed.
      expect(unavailable(await query(['nobody']))).toBe(true);
      await new Promise((r) => setTimeout(r, TTL_MS));
      expect((await query(['nobody'])).result).toMatchObject({ $case: 'presence', value: { presence: [{ online: false }] } });
    } finally {
      admin.disconnect();
      await service.stop();
      await backend.close();
      await bus.close();
    }
  });
});
