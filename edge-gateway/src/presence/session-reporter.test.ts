import { afterEach, describe, expect, it } from 'vitest';
import { PRESENCE_RESYNC_SUBJECT, PRESENCE_SESSIONS_SUBJECT, SessionChange } from '@chat/proto';
import { LocalBus, silentLogger, systemClock } from '@chat/platform';
import { HEARTBEAT_CHUNK, SessionReporter } from './session-reporter.js';

describe('SessionReporter', () => {
  let bus: LocalBus;
  let reporter: SessionReporter | undefined;

  afterEach(async () => {
    reporter?.stop();
    await bus.close();
  });

  /** Every SessionChange published, decoded, in order. */
  function listen(): SessionChange[] {
    const seen: SessionChange[] = [];
    bus.subscribe(PRESENCE_SESSIONS_SUBJECT, (msg) => seen.push(SessionChange.decode(msg.data)));
    return seen;
  }

  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 2000;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };

  it('reports up and down, then heartbeats the live sessions in chunks, every interval', async () => {
    bus = new LocalBus();
    const seen = listen();
    const live = Array.from({ length: HEARTBEAT_CHUNK + 1 }, (_, i) => ({ userId: `u${i}`, sessionId: `s${i}` }));
    reporter = new SessionReporter({ bus, gatewayId: 'gw-1', heartbeatMs: 50, sessions: () => live, clock: systemClock, logger: silentLogger() });
    reporter.up({ userId: 'u0', sessionId: 's0' });
    reporter.down({ userId: 'u0', sessionId: 's0' });
    reporter.start();
    await until(() => seen.length >= 6);
    expect(seen[0]).toMatchObject({ gatewayId: 'gw-1', kind: { $case: 'up', value: { userId: 'u0', sessionId: 's0' } } });
    expect(seen[1]).toMatchObject({ gatewayId: 'gw-1', kind: { $case: 'down', value: { userId: 'u0', sessionId: 's0' } } });
    expect(seen[0]!.at).toBeGreaterThan(0);
    // Two heartbeat rounds, each a full chunk then the rest.
    const heartbeats = seen.slice(2, 6).map((c) => (c.kind?.$case === 'heartbeat' ? c.kind.value.sessions.length : -1));
    expect(heartbeats).toEqual([HEARTBEAT_CHUNK, 1, HEARTBEAT_CHUNK, 1]);
    const first = seen[2]!.kind;
    expect(first?.$case === 'heartbeat' && first.value.sessions[0]).toEqual({ userId: 'u0', sessionId: 's0' });
  });

  it('sends no heartbeat without sessions, and nothing after stop()', async () => {
    bus = new LocalBus();
    const seen = listen();
    reporter = new SessionReporter({ bus, gatewayId: 'gw-2', heartbeatMs: 20, sessions: () => [], clock: systemClock, logger: silentLogger() });
    reporter.start();
    await new Promise((r) => setTimeout(r, 100));
    reporter.stop();
    expect(seen).toEqual([]);
  });

  it('heartbeats at once when the presence service asks for a resync, and not after stop()', async () => {
    bus = new LocalBus();
    const seen = listen();
    reporter = new SessionReporter({ bus, gatewayId: 'gw-4', heartbeatMs: 60_000, sessions: () => [{ userId: 'u', sessionId: 's' }], clock: systemClock, logger: silentLogger() });
    reporter.start();
    bus.publish(PRESENCE_RESYNC_SUBJECT, new Uint8Array());
    await until(() => seen.length >= 1);
    expect(seen.map((c) => c.kind?.$case)).toEqual(['heartbeat']);
    reporter.stop();
    bus.publish(PRESENCE_RESYNC_SUBJECT, new Uint8Array());
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(1);
  });

  it('never throws when the bus is closed', async () => {
    bus = new LocalBus();
    reporter = new SessionReporter({ bus, gatewayId: 'gw-3', heartbeatMs: 1000, sessions: () => [{ userId: 'u', sessionId: 's' }], clock: systemClock, logger: silentLogger() });
    await bus.close();
    expect(() => {
      reporter!.up({ userId: 'u', sessionId: 's' });
      reporter!.heartbeat();
    }).not.toThrow();
  });
});
