import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { LocalBus, silentLogger } from '@chat/platform';
import {
  PRESENCE_CHANGES_SUBJECT,
  PRESENCE_QUERY_SUBJECT,
  PRESENCE_SESSIONS_SUBJECT,
  PRESENCE_TYPING_SUBJECT,
  PresenceQuery,
  PresenceReply,
  SessionChange,
  TypingChange,
  Event,
  UserPresence,
} from '@chat/proto';
import { MemoryPresenceBackend } from './memory-presence-backend.js';
import { PresenceService } from './presence-service.js';

const T0 = 1_700_000_000_000;
const TTL = 1000;
const TYPING_TTL = 500;

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
  /** Every `typing` event published on a conversation's subject, as `conversation:user:start|stop`, in order. */
  relayed: string[];
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
    const relayed: string[] = [];
    bus.subscribe('chat.conv.>', (msg) => {
      const kind = Event.decode(msg.data).kind;
      if (kind?.$case === 'typing') relayed.push(`${kind.value.conversationId}:${kind.value.userId}:${kind.value.active ? 'start' : 'stop'}`);
    });
    const instances = Array.from({ length: instanceCount }, () => {
      const backend = new MemoryPresenceBackend({ ttlMs: TTL, typingTtlMs: TYPING_TTL });
      cleanups.push(() => backend.close());
      const registry = new Registry();
      // A real, short expiry interval; the lease times come from the manual clock.
      const service = new PresenceService({ bus, backend, logger: silentLogger(), registry, expireEveryMs: 5, clock });
      service.start();
      cleanups.push(() => service.stop());
      return { backend, service, registry };
    });
    return { bus, clock, changes, relayed, instances };
  }

  function send(h: Harness, gatewayId: string, kind: Kind): void {
    h.bus.publish(PRESENCE_SESSIONS_SUBJECT, SessionChange.encode({ gatewayId, at: h.clock.now(), kind }).finish());
  }
  const up = (h: Harness, gatewayId: string, userId: string, sessionId: string) => send(h, gatewayId, { $case: 'up', value: { userId, sessionId } });
  const down = (h: Harness, gatewayId: string, userId: string, sessionId: string) => send(h, gatewayId, { $case: 'down', value: { userId, sessionId } });
  const heartbeat = (h: Harness, gatewayId: string, sessions: { userId: string; sessionId: string }[]) =>
    send(h, gatewayId, { $case: 'heartbeat', value: { sessions } });

  const typing = (h: Harness, conversationId: string, userId: string, sessionId: string, active: boolean) =>
    h.bus.publish(PRESENCE_TYPING_SUBJECT, TypingChange.encode({ conversationId, userId, sessionId, active, at: h.clock.now() }).finish());
  /** Runs a few expiry rounds at the clock's current time. */
  const rounds = async (h: Harness) => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    await settle(h);
  };

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

  it('relays each start, and a typing lease that ran out as a stop once, a typing TTL after its last renewal', async () => {
    const h = start();
    typing(h, 'c1', 'alice', 'a1', true);
    h.clock.t = T0 + 200;
    typing(h, 'c1', 'alice', 'a1', true);
    await settle(h);
    expect(h.relayed).toEqual(['c1:alice:start', 'c1:alice:start']);
    h.clock.t = T0 + TYPING_TTL + 199;
    await rounds(h);
    expect(h.relayed).toHaveLength(2);
    h.clock.t = T0 + TYPING_TTL + 200;
    await vi.waitFor(() => expect(h.relayed).toEqual(['c1:alice:start', 'c1:alice:start', 'c1:alice:stop']), { timeout: 10_000, interval: 5 });
    h.clock.t = T0 + 10 * TYPING_TTL;
    await rounds(h);
    expect(h.relayed).toHaveLength(3);
  });

  it('relays an explicit stop once, and nothing more once the lease would have run out', async () => {
    const h = start();
    typing(h, 'c1', 'alice', 'a1', true);
    h.clock.t = T0 + 10;
    typing(h, 'c1', 'alice', 'a1', false);
    await settle(h);
    h.clock.t = T0 + 10 * TYPING_TTL;
    await rounds(h);
    expect(h.relayed).toEqual(['c1:alice:start', 'c1:alice:stop']);
  });

  it('relays no start that comes after a later stop (reordered on the way)', async () => {
    const h = start();
    h.clock.t = T0 + 50;
    typing(h, 'c1', 'alice', 'a1', false);
    await settle(h);
    // The start was sent before the stop but arrives after it.
    h.clock.t = T0 + 20;
    typing(h, 'c1', 'alice', 'a1', true);
    await settle(h);
    expect(h.relayed).toEqual(['c1:alice:stop']);
  });

  it('stops every conversation a session typed in when it goes down, and only those', async () => {
    const h = start();
    up(h, 'gw1', 'alice', 'a1');
    up(h, 'gw1', 'alice', 'a2');
    typing(h, 'c1', 'alice', 'a1', true);
    typing(h, 'c2', 'alice', 'a1', true);
    typing(h, 'c3', 'alice', 'a2', true);
    await settle(h);
    h.clock.t = T0 + 10;
    down(h, 'gw1', 'alice', 'a1');
    await settle(h);
    const stops = () => h.relayed.filter((r) => r.endsWith(':stop')).sort();
    expect(stops()).toEqual(['c1:alice:stop', 'c2:alice:stop']);
    // A start that arrives after its session's down is not relayed at all.
    typing(h, 'c4', 'alice', 'a1', true);
    await settle(h);
    expect(h.relayed.filter((r) => r.startsWith('c4:'))).toEqual([]);
    // The other session's lease expires as usual; nothing is stopped twice.
    h.clock.t = T0 + 10 * TYPING_TTL;
    await vi.waitFor(() => expect(stops()).toHaveLength(3), { timeout: 10_000, interval: 5 });
    await rounds(h);
    expect(stops()).toEqual(['c1:alice:stop', 'c2:alice:stop', 'c3:alice:stop']);
  });

  it('ignores typing changes with invalid ids', async () => {
    const h = start();
    h.bus.publish(PRESENCE_TYPING_SUBJECT, new Uint8Array([0xff, 0xff, 0xff]));
    typing(h, 'bad.conversation', 'alice', 'a1', true);
    typing(h, 'c1', 'bad id', 'a1', true);
    typing(h, 'c1', 'alice', '', true);
    await settle(h);
    h.clock.t = T0 + 10 * TYPING_TTL;
    await rounds(h);
    expect(h.relayed).toEqual([]);
    const updates = (await h.instances[0]!.registry.getSingleMetric('chat_presence_updates_total')?.get())?.values ?? [];
    expect(updates.filter((v) => v.labels.outcome === 'invalid').reduce((n, v) => n + v.value, 0)).toBe(4);
  });
});
