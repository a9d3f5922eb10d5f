import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { LocalBus, silentLogger } from '@chat/platform';
import {
  PRESENCE_CHANGES_SUBJECT,
  PRESENCE_QUERY_SUBJECT,
  PRESENCE_SESSIONS_SUBJECT,
  PresenceQuery,
  PresenceReply,
  SessionChange,
  UserPresence,
} from '@chat/proto';
import { MemoryPresenceBackend } from './memory-presence-backend.js';
import { PresenceService } from './presence-service.js';

const T0 = 1_700_000_000_000;
const TTL = 1000;

class ManualClock {
  t = T0;
  now(): number {
    return this.t;
  }
}

interface Harness {
  bus: LocalBus;
  clock: ManualClock;
  /** Every UserPresence published on PRESENCE_CHANGES_SUBJECT, in order. */
  changes: UserPresence[];
  instances: { backend: MemoryPresenceBackend; service: PresenceService; registry: Registry }[];
}

type Kind = NonNullable<SessionChange['kind']>;

describe('PresenceService over the bus', () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function start(instanceCount = 1): Harness {
    const bus = new LocalBus();
    cleanups.push(() => bus.close());
    const clock = new ManualClock();
    const changes: UserPresence[] = [];
    bus.subscribe(PRESENCE_CHANGES_SUBJECT, (msg) => changes.push(UserPresence.decode(msg.data)));
    const instances = Array.from({ length: instanceCount }, () => {
      const backend = new MemoryPresenceBackend({ ttlMs: TTL });
      cleanups.push(() => backend.close());
      const registry = new Registry();
      // A real, short expiry interval; the lease times come from the manual clock.
      const service = new PresenceService({ bus, backend, logger: silentLogger(), registry, expireEveryMs: 5, clock });
      service.start();
      cleanups.push(() => service.stop());
      return { backend, service, registry };
    });
    return { bus, clock, changes, instances };
  }

  function send(h: Harness, gatewayId: string, kind: Kind): void {
    h.bus.publish(PRESENCE_SESSIONS_SUBJECT, SessionChange.encode({ gatewayId, at: h.clock.now(), kind }).finish());
  }
  const up = (h: Harness, gatewayId: string, userId: string, sessionId: string) => send(h, gatewayId, { $case: 'up', value: { userId, sessionId } });
  const down = (h: Harness, gatewayId: string, userId: string, sessionId: string) => send(h, gatewayId, { $case: 'down', value: { userId, sessionId } });
  const heartbeat = (h: Harness, gatewayId: string, sessions: { userId: string; sessionId: string }[]) =>
    send(h, gatewayId, { $case: 'heartbeat', value: { sessions } });

  async function query(h: Harness, userIds: string[]): Promise<PresenceReply> {
    const msg = await h.bus.request(PRESENCE_QUERY_SUBJECT, PresenceQuery.encode({ userIds }).finish(), { timeoutMs: 10_000 });
    return PresenceReply.decode(msg.data);
  }

  async function presence(h: Harness, userIds: string[]): Promise<UserPresence[]> {
    const reply = await query(h, userIds);
    if (reply.result?.$case !== 'presence') throw new Error(`expected presence, got ${JSON.stringify(reply.result)}`);
    return reply.result.value.presence;
  }

  /**
   * Lets everything published so far be delivered and applied: the LocalBus
   * drains in microtasks, and the memory backend answers in microtasks, so all
   * of it is done before the next macrotask.
   */
  async function settle(h: Harness): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await h.bus.flush();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  it('brings a user online with their first session and offline with lastSeen when the last one goes', async () => {
    const h = start();
    up(h, 'gw1', 'alice', 'phone');
    await settle(h);
    expect(await presence(h, ['alice', 'bob'])).toEqual([
      { userId: 'alice', online: true, lastSeen: undefined },
      { userId: 'bob', online: false, lastSeen: undefined },
    ]);
    expect(h.changes).toEqual([{ userId: 'alice', online: true, lastSeen: undefined }]);

    // A second device changes nothing anyone sees.
    h.clock.t = T0 + 10;
    up(h, 'gw2', 'alice', 'laptop');
    await settle(h);
    expect(h.changes).toHaveLength(1);

    h.clock.t = T0 + 20;
    down(h, 'gw1', 'alice', 'phone');
    await settle(h);
    expect((await presence(h, ['alice']))[0]?.online).toBe(true);
    expect(h.changes).toHaveLength(1);

    h.clock.t = T0 + 30;
    down(h, 'gw2', 'alice', 'laptop');
    await settle(h);
    expect(await presence(h, ['alice'])).toEqual([{ userId: 'alice', online: false, lastSeen: T0 + 30 }]);
    expect(h.changes).toEqual([
      { userId: 'alice', online: true, lastSeen: undefined },
      { userId: 'alice', online: false, lastSeen: T0 + 30 },
    ]);
  });

  it('takes the users of a gateway whose heartbeats stopped offline after the TTL, once', async () => {
    const h = start();
    up(h, 'gw-dead', 'alice', 'a1');
    up(h, 'gw-alive', 'bob', 'b1');
    await settle(h);
    expect(h.changes.map((c) => c.online)).toEqual([true, true]);

    h.clock.t = T0 + TTL / 2;
    heartbeat(h, 'gw-alive', [{ userId: 'bob', sessionId: 'b1' }]);
    await settle(h);
    h.clock.t = T0 + TTL;
    await vi.waitFor(async () => expect((await presence(h, ['alice']))[0]).toEqual({ userId: 'alice', online: false, lastSeen: T0 }), {
      timeout: 10_000,
      interval: 5,
    });
    expect((await presence(h, ['bob']))[0]?.online).toBe(true);
    // Let the timer run a few more expiry rounds: the transition is published once.
    await new Promise((resolve) => setTimeout(resolve, 30));
    await settle(h);
    expect(h.changes.slice(2)).toEqual([{ userId: 'alice', online: false, lastSeen: T0 }]);
  });

  it('re-registers the sessions a heartbeat reports after they expired', async () => {
    const h = start();
    up(h, 'gw1', 'alice', 'a1');
    await settle(h);
    h.clock.t = T0 + TTL;
    await vi.waitFor(async () => expect((await presence(h, ['alice']))[0]?.online).toBe(false), { timeout: 10_000, interval: 5 });

    // The gateway was only paused: its next heartbeat restores alice.
    h.clock.t = T0 + TTL + 100;
    heartbeat(h, 'gw1', [{ userId: 'alice', sessionId: 'a1' }]);
    await settle(h);
    expect(await presence(h, ['alice'])).toEqual([{ userId: 'alice', online: true, lastSeen: T0 }]);
    expect(h.changes).toEqual([
      { userId: 'alice', online: true, lastSeen: undefined },
      { userId: 'alice', online: false, lastSeen: T0 },
      { userId: 'alice', online: true, lastSeen: undefined },
    ]);
    // And its lease now runs from that heartbeat.
    h.clock.t = T0 + 2 * TTL + 99;
    await new Promise((resolve) => setTimeout(resolve, 30));
    await settle(h);
    expect((await presence(h, ['alice']))[0]?.online).toBe(true);
  });

  it('shares the work among instances on one bus: each update is applied by exactly one', async () => {
    const h = start(2);
    const users = Array.from({ length: 100 }, (_, i) => `u${i}`);
    for (const userId of users) up(h, 'gw1', userId, 's1');
    await vi.waitFor(() => expect(h.changes.length).toBeGreaterThanOrEqual(users.length), { timeout: 10_000, interval: 5 });
    await settle(h);
    expect(h.changes).toHaveLength(users.length);
    expect(new Set(h.changes.map((c) => c.userId))).toEqual(new Set(users));

    // With the memory backend each instance knows only what it applied.
    const [a, b] = await Promise.all(h.instances.map(({ backend }) => backend.get(users)));
    for (let i = 0; i < users.length; i++) {
      expect([a![i]!.online, b![i]!.online].filter(Boolean), users[i]).toHaveLength(1);
    }
    expect(a!.some((p) => p.online)).toBe(true);
    expect(b!.some((p) => p.online)).toBe(true);
  });

  it('applies the updates it accepted before stop() resolves', async () => {
    const h = start();
    for (let i = 0; i < 20; i++) up(h, 'gw1', `u${i}`, 's1');
    await h.bus.flush();
    const { service, backend } = h.instances[0]!;
    await service.stop();
    expect((await backend.get(['u0', 'u19'])).map((p) => p.online)).toEqual([true, true]);
    expect(service.started).toBe(false);
  });

  it('keeps serving when the backend fails: updates are counted as errors, queries answer unavailable', async () => {
    const h = start();
    const { backend, registry } = h.instances[0]!;
    await backend.close();
    up(h, 'gw1', 'alice', 'a1');
    await settle(h);
    const reply = await query(h, ['alice']);
    expect(reply.result?.$case === 'failure' && reply.result.value.code).toBe('unavailable');
    expect(h.changes).toEqual([]);
    const errors = (await registry.getSingleMetric('chat_presence_backend_errors_total')?.get())?.values ?? [];
    const byOp = Object.fromEntries(errors.map((v) => [v.labels.op, v.value]));
    expect(byOp.sessionUp).toBe(1);
    expect(byOp.get).toBe(1);
  });

  it('ignores undecodable and invalid updates and answers an undecodable query with bad_request', async () => {
    const h = start();
    h.bus.publish(PRESENCE_SESSIONS_SUBJECT, new Uint8Array([0xff, 0xff, 0xff]));
    up(h, 'gw1', 'not a valid id', 's1');
    up(h, 'gw1', 'alice', '');
    send(h, '', { $case: 'up', value: { userId: 'bob', sessionId: 's1' } });
    heartbeat(h, 'gw1', [
      { userId: 'carol', sessionId: 'c1' },
      { userId: 'bad.id', sessionId: 'x' },
    ]);
    await settle(h);
    expect(h.changes).toEqual([{ userId: 'carol', online: true, lastSeen: undefined }]);
    expect((await presence(h, ['alice', 'bob'])).map((p) => p.online)).toEqual([false, false]);
    const msg = await h.bus.request(PRESENCE_QUERY_SUBJECT, new Uint8Array([0xff, 0xff, 0xff]), { timeoutMs: 10_000 });
    const reply = PresenceReply.decode(msg.data);
    expect(reply.result?.$case === 'failure' && reply.result.value.code).toBe('bad_request');
  });
});
