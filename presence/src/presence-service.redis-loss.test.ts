import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { LocalBus, silentLogger } from '@chat/platform';
import { PRESENCE_QUERY_SUBJECT, PRESENCE_RESYNC_SUBJECT, PRESENCE_SESSIONS_SUBJECT, PresenceQuery, PresenceReply, SessionChange } from '@chat/proto';
import { type RedisServerProcess, startRedisServer } from '@chat/testkit/servers';
import { DEFAULT_PRESENCE_KEY_PREFIX } from './config.js';
import { RedisPresenceBackend } from './redis-presence-backend.js';
import { PresenceService } from './presence-service.js';

// The service on a real Redis that loses its data under it: wiped (FLUSHALL:
// what a restart without persistence leaves, with no failed call in between),
// killed and restarted empty, or met empty by a service that restarts too.

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

const online = (r: PresenceReply) => r.result?.$case === 'presence' && r.result.value.presence.every((p) => p.online);
const offline = (r: PresenceReply) => r.result?.$case === 'presence' && r.result.value.presence.every((p) => !p.online);
const unavailable = (r: PresenceReply) => r.result?.$case === 'failure' && r.result.value.code === 'unavailable';

/** A bus with gateways' side of presence: reports sessions, asks, and counts the re-report requests (resyncs). */
function gatewaySide(bus: LocalBus) {
  const side = { resyncs: 0 };
  bus.subscribe(PRESENCE_RESYNC_SUBJECT, () => side.resyncs++);
  return Object.assign(side, {
    report: (kind: NonNullable<SessionChange['kind']>) =>
      bus.publish(PRESENCE_SESSIONS_SUBJECT, SessionChange.encode({ gatewayId: 'gw1', at: Date.now(), kind }).finish()),
    query: async (userIds: string[]) => PresenceReply.decode((await bus.request(PRESENCE_QUERY_SUBJECT, PresenceQuery.encode({ userIds }).finish(), { timeoutMs: 2000 })).data),
  });
}

/** One presence instance (backend and service) on `url`, running expiry rounds every `expireEveryMs`; stop() is a process exit. */
async function instance(bus: LocalBus, url: string, expireEveryMs = 20) {
  const backend = new RedisPresenceBackend({ url, ttlMs: TTL_MS });
  await backend.ready(5000);
  const registry = new Registry();
  const service = new PresenceService({ bus, backend, logger: silentLogger(), registry, expireEveryMs });
  service.start();
  return {
    backend,
    registry,
    stop: async () => {
      await service.stop();
      await backend.close();
    },
  };
}

describe('PresenceService when Redis loses its data', () => {
  it('asks gateways to resync at once, answers unavailable (not offline) until a user is re-reported, and stays up', async () => {
    const admin = new Redis(redis.url);
    // An established deployment: its data began long ago.
    await admin.set(`${DEFAULT_PRESENCE_KEY_PREFIX}since`, '0');
    const bus = new LocalBus();
    const gw = gatewaySide(bus);
    const { backend, registry, stop } = await instance(bus, redis.url);
    try {
      gw.report({ $case: 'up', value: { userId: 'alice', sessionId: 'a1' } });
      expect(online(await until(() => gw.query(['alice']), online))).toBe(true);
      // Someone never seen is offline at once.
      expect((await gw.query(['nobody'])).result).toMatchObject({ $case: 'presence', value: { presence: [{ userId: 'nobody', online: false }] } });
      expect(gw.resyncs).toBe(0);

      await admin.flushall();
      const lost = performance.now();
      // Detected by the next expiry round: gateways are asked to re-report.
      await until(async () => gw.resyncs, (n) => n > 0, 2000);
      expect(gw.resyncs).toBe(1);
      expect(performance.now() - lost).toBeLessThan(1000);
      const during = await gw.query(['alice']);
      expect(unavailable(during), JSON.stringify(during.result)).toBe(true);
      // alice's gateway answers the resync with a heartbeat: online again.
      gw.report({ $case: 'heartbeat', value: { sessions: [{ userId: 'alice', sessionId: 'a1' }] } });
      expect(online(await until(() => gw.query(['alice']), online, 1000))).toBe(true);
      // Not a backend failure: presence is not reported down, and no further resync was asked.
      const up = (await registry.getSingleMetric('chat_presence_backend_up')?.get())?.values[0]?.value;
      expect(up).toBe(1);
      expect(gw.resyncs).toBe(1);
      expect(await backend.onlineUsers()).toBe(1);
      // After one lease, whoever is not back is offline indeed.
      expect(unavailable(await gw.query(['nobody']))).toBe(true);
      await new Promise((r) => setTimeout(r, TTL_MS));
      expect((await gw.query(['nobody'])).result).toMatchObject({ $case: 'presence', value: { presence: [{ online: false }] } });
    } finally {
      admin.disconnect();
      await stop();
      await bus.close();
    }
  });

  it('restarted together with Redis (both empty-handed), asks gateways to re-report at once and answers unavailable, not offline, for one lease', async () => {
    const own = await startRedisServer();
    const bus = new LocalBus();
    const gw = gatewaySide(bus);
    let first = await instance(bus, own.url);
    try {
      gw.report({ $case: 'up', value: { userId: 'alice', sessionId: 'a1' } });
      expect(online(await until(() => gw.query(['alice']), online))).toBe(true);

      // Both die; alice's gateway keeps her session. Both come back, Redis empty.
      await first.stop();
      await own.kill('SIGKILL');
      await own.restart();
      gw.resyncs = 0;
      const startedAt = performance.now();
      // No expiry round runs within this test: only the look at start can find the loss.
      first = await instance(bus, own.url, 60_000);
      await until(async () => gw.resyncs, (n) => n > 0, 5000);
      expect(gw.resyncs, 'gateways asked to re-report').toBe(1);
      const during = await gw.query(['alice']);
      expect(unavailable(during), `alice must not be offline before her gateway re-reported: ${JSON.stringify(during.result)}`).toBe(true);
      gw.report({ $case: 'heartbeat', value: { sessions: [{ userId: 'alice', sessionId: 'a1' }] } });
      expect(online(await until(() => gw.query(['alice']), online, 1000))).toBe(true);
      // Whoever is not back within one lease is offline indeed.
      expect(unavailable(await gw.query(['nobody']))).toBe(true);
      const after = await until(() => gw.query(['nobody']), offline, TTL_MS + 2000);
      expect(offline(after)).toBe(true);
      expect(performance.now() - startedAt).toBeGreaterThanOrEqual(TTL_MS - 100);
      expect(gw.resyncs).toBe(1);
    } finally {
      await first.stop();
      await bus.close();
      await own.stop();
    }
  }, 30_000);

  it('asks gateways to re-report once per Redis restart, however many presence instances saw it fail', async () => {
    const own = await startRedisServer();
    const bus = new LocalBus();
    const gw = gatewaySide(bus);
    const instances = [await instance(bus, own.url), await instance(bus, own.url)];
    // Gateways keep reporting, so calls fail while Redis is down and succeed once it is back.
    const heartbeats = setInterval(() => gw.report({ $case: 'heartbeat', value: { sessions: [{ userId: 'alice', sessionId: 'a1' }] } }), 100);
    try {
      expect(online(await until(() => gw.query(['alice']), online))).toBe(true);
      // Two instances meeting one empty Redis at start: one loss, one request.
      await new Promise((r) => setTimeout(r, 500));
      expect(gw.resyncs).toBe(1);

      gw.resyncs = 0;
      await own.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      for (const i of instances) expect((await i.registry.getSingleMetric('chat_presence_backend_up')?.get())?.values[0]?.value, 'each instance saw Redis fail').toBe(0);
      await own.restart();
      const back = performance.now();
      await until(async () => gw.resyncs, (n) => n > 0, 5000);
      expect(gw.resyncs).toBe(1);
      // The clients reconnect with a backoff of up to 1 s; the rest is a margin for a loaded machine.
      expect(performance.now() - back).toBeLessThan(4000);
      // Both instances reconnect (backoff up to 1 s) and run many rounds: still one request.
      await new Promise((r) => setTimeout(r, 2000));
      for (const i of instances) expect((await i.registry.getSingleMetric('chat_presence_backend_up')?.get())?.values[0]?.value).toBe(1);
      expect(online(await until(() => gw.query(['alice']), online))).toBe(true);
      expect(gw.resyncs, 're-report requests for one Redis restart').toBe(1);

      // An outage that loses nothing (Redis paused) still has the gateways re-report the updates it dropped: once.
      const one = instances.pop()!;
      await one.stop();
      gw.resyncs = 0;
      await own.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 1500));
      await own.kill('SIGCONT');
      await until(async () => gw.resyncs, (n) => n > 0, 3000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(gw.resyncs, 're-report requests after an outage without loss').toBe(1);
      expect(online(await gw.query(['alice']))).toBe(true);
    } finally {
      clearInterval(heartbeats);
      await Promise.all(instances.map((i) => i.stop()));
      await bus.close();
      await own.kill('SIGCONT');
      await own.stop();
    }
  }, 30_000);
});
