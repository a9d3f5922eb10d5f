import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, NatsKvLeaseTable, connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { HostLease } from './host-lease.js';

const TTL_MS = 1000;

describe('HostLease on a real nats-server', () => {
  let server: NatsServerProcess;
  let bus: NatsBus;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    bus = await connectNatsBus({ servers: server.url, name: 'host-lease-test', logger: silentLogger() });
  });
  afterAll(async () => {
    await bus.close();
    await server.stop();
  });

  const table = () => NatsKvLeaseTable.open(bus.connection, { ttlMs: TTL_MS, bucket: `h${randomUUID().slice(0, 8)}` });

  it('is valid until 90% of the TTL after the last renewal was sent, and a second join under the same member fails', async () => {
    const t = await table();
    const lease = new HostLease(t, 'm1', () => performance.now());
    const sentAt = performance.now();
    expect(await lease.join()).toBe(true);
    expect(lease.isValid()).toBe(true);
    expect(lease.validUntil).toBeGreaterThanOrEqual(sentAt + TTL_MS * 0.9);
    expect(lease.validUntil).toBeLessThanOrEqual(performance.now() + TTL_MS * 0.9);
    expect(await new HostLease(t, 'm1', () => performance.now()).join()).toBe(false);
    await new Promise((r) => setTimeout(r, TTL_MS * 0.95));
    expect(lease.isValid(), 'past the deadline without a renewal').toBe(false);
  });

  it('a renewal whose answer was lost but which landed is not mistaken for a lost lease', async () => {
    const t = await table();
    const lease = new HostLease(t, 'm2', () => performance.now());
    await lease.join();
    // What a renewal that timed out after landing leaves behind: the key at a revision the lease never heard of.
    const current = await t.get(HostLease.keyOf('m2'));
    expect(await t.renew(HostLease.keyOf('m2'), 'm2', current!.revision)).not.toBeNull();
    expect(await lease.renew()).toBe('ok');
    expect(lease.isValid()).toBe(true);
    expect(await lease.renew()).toBe('ok');
  });

  it('reports a lease that expired as lost, and can join again', async () => {
    const t = await table();
    const lease = new HostLease(t, 'm3', () => performance.now());
    await lease.join();
    while ((await t.get(HostLease.keyOf('m3'))) !== null) await new Promise((r) => setTimeout(r, 50));
    expect(await lease.renew()).toBe('lost');
    expect(lease.isValid()).toBe(false);
    expect(lease.joined).toBe(false);
    expect(await lease.join()).toBe(true);
    expect(lease.isValid()).toBe(true);
  });

  it('leaving removes the lease at once', async () => {
    const t = await table();
    const lease = new HostLease(t, 'm4', () => performance.now());
    await lease.join();
    await lease.leave();
    expect(lease.isValid()).toBe(false);
    expect((await t.live('host.')).keys).toEqual([]);
  });
});
