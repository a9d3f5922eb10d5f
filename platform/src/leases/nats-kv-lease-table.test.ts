import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, connectNatsBus } from '../bus/nats-bus.js';
import { silentLogger } from '../logger.js';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { NatsKvLeaseTable } from './nats-kv-lease-table.js';
import { fencingEpoch } from './lease-table.js';

const TTL_MS = 1000;

describe('NatsKvLeaseTable on a real nats-server', () => {
  let server: NatsServerProcess;
  let bus: NatsBus;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    bus = await connectNatsBus({ servers: server.url, name: 'lease-table-test', logger: silentLogger() });
  });
  afterAll(async () => {
    await bus.close();
    await server.stop();
  });

  const open = (ttlMs: number) => NatsKvLeaseTable.open(bus.connection, { ttlMs, bucket: `t${randomUUID().slice(0, 8)}` });

  it('writes by compare-and-set: one acquire wins, and a take or renewal on a stale revision fails', async () => {
    const table = await open(0);
    const first = await table.acquire('shard.1', 'a');
    expect(first).not.toBeNull();
    expect(await table.acquire('shard.1', 'b')).toBeNull();
    expect(await table.get('shard.1')).toEqual({ owner: 'a', revision: first!.revision });

    const taken = await table.take('shard.1', 'b', first!.revision);
    expect(taken).not.toBeNull();
    expect(await table.take('shard.1', 'c', first!.revision)).toBeNull();
    expect(await table.renew('shard.1', 'a', first!.revision)).toBeNull();
    expect(await table.get('shard.1')).toEqual({ owner: 'b', revision: taken!.revision });
    // The next holder's epoch is above the previous one's.
    expect(fencingEpoch(taken!)).toBeGreaterThan(fencingEpoch(first!));
  });

  it('release leaves no trace, and a stale release leaves a newer holder alone', async () => {
    const table = await open(TTL_MS);
    const a = await table.acquire('host.a', 'a');
    await table.acquire('host.b', 'b');
    expect((await table.live('host.')).keys.sort()).toEqual(['host.a', 'host.b']);

    await table.release('host.a', a!.revision);
    expect((await table.live('host.')).keys).toEqual(['host.b']);
    expect(await table.get('host.a')).toBeNull();

    const again = await table.acquire('host.a', 'a2');
    expect(again).not.toBeNull();
    await table.release('host.a', a!.revision);
    expect(await table.get('host.a')).toEqual({ owner: 'a2', revision: again!.revision });
    expect((await table.live('host.')).keys.sort()).toEqual(['host.a', 'host.b']);
  });

  it('with a TTL, an entry not renewed disappears after the TTL and not before', async () => {
    const table = await open(TTL_MS);
    const start = performance.now();
    const held = await table.acquire('host.x', 'x');
    const renewed = await table.renew('host.x', 'x', held!.revision);
    expect(renewed).not.toBeNull();
    const renewedAt = performance.now();
    await new Promise((r) => setTimeout(r, TTL_MS / 2));
    expect((await table.live('host.')).keys).toEqual(['host.x']);
    while ((await table.get('host.x')) !== null) {
      expect(performance.now() - start, 'entry still there long after its TTL').toBeLessThan(TTL_MS * 5);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(performance.now() - renewedAt).toBeGreaterThanOrEqual(TTL_MS * 0.9);
    expect((await table.live('host.')).keys).toEqual([]);
    expect(await table.renew('host.x', 'x', renewed!)).toBeNull();
  });

  it('without a TTL, an entry outlives any TTL a lease table would have', async () => {
    const table = await open(0);
    await table.acquire('shard.7', 'a');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await table.get('shard.7')).toMatchObject({ owner: 'a' });
    expect((await table.live('shard.')).keys).toEqual(['shard.7']);
  });
  it('says when the least recently written lease expires, counted from the latest write', async () => {
    const table = await open(TTL_MS);
    expect((await table.live('host.')).nextExpiryInMs).toBeUndefined();
    await table.acquire('host.old', 'old');
    await new Promise((r) => setTimeout(r, 300));
    await table.acquire('host.new', 'new');
    const { keys, nextExpiryInMs } = await table.live('host.');
    expect(keys.sort()).toEqual(['host.new', 'host.old']);
    // host.old was written about 300 ms before the latest write.
    expect(nextExpiryInMs).toBeGreaterThan(TTL_MS - 450);
    expect(nextExpiryInMs).toBeLessThanOrEqual(TTL_MS - 300);
  });
});
