import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, connectNatsBus } from '../bus/nats-bus.js';
import { silentLogger } from '../logger.js';
import { type NatsServerProcess, restartNatsWithEmptyStore, startNatsServer } from '@chat/testkit/servers';
import { LeaseUnavailableError } from '../errors.js';
import { NatsKvLeaseTable } from './nats-kv-lease-table.js';
import { LeaseStorageRecreatedError, fencingEpoch } from './lease-table.js';

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
  it('records when its bucket was created, on the server clock, and every table on the bucket reads the same time', async () => {
    const before = Date.now();
    const bucket = `c${randomUUID().slice(0, 8)}`;
    const creator = await NatsKvLeaseTable.open(bus.connection, { ttlMs: TTL_MS, bucket });
    const created = await creator.createdAt();
    // Server and test share a clock here.
    expect(created).toBeGreaterThanOrEqual(before - 50);
    expect(created).toBeLessThanOrEqual(Date.now() + 50);
    await new Promise((r) => setTimeout(r, 100));
    const later = await NatsKvLeaseTable.open(bus.connection, { ttlMs: TTL_MS, bucket });
    expect(await later.createdAt()).toBe(created);
    await later.acquire('host.a', 'a');
    expect((await creator.live('host.')).createdAtMs).toBe(created);
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

describe('NatsKvLeaseTable when NATS comes back without its JetStream store', () => {
  let server: NatsServerProcess;
  const buses: NatsBus[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    for (const name of ['a', 'b']) buses.push(await connectNatsBus({ servers: server.url, name: `lease-loss-${name}`, logger: silentLogger() }));
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await server.stop();
  });

  /** Runs `op` until the table's answer is not a disconnection (the bus reconnects on its own); returns its outcome. */
  async function settled<T>(op: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; err: Error }> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        return { ok: true, value: await op() };
      } catch (err) {
        if (!(err instanceof LeaseUnavailableError)) throw err;
        if (err instanceof LeaseStorageRecreatedError || Date.now() > deadline) return { ok: false, err };
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  it('recreates its bucket with the same settings, fails the operation that found it missing, and then works from empty with epochs still growing', async () => {
    const [busA, busB] = buses as [NatsBus, NatsBus];
    const bucket = `lost${randomUUID().slice(0, 8)}`;
    // Two processes' tables on one bucket, as two actor hosts have.
    const a = await NatsKvLeaseTable.open(busA.connection, { ttlMs: 0, bucket });
    const b = await NatsKvLeaseTable.open(busB.connection, { ttlMs: 0, bucket });
    const hosts = await NatsKvLeaseTable.open(busA.connection, { ttlMs: TTL_MS, bucket: `${bucket}h` });
    let recreations = 0;
    const hostsRecreating = await NatsKvLeaseTable.open(busB.connection, { ttlMs: TTL_MS, bucket: `${bucket}h`, onRecreated: () => recreations++ });
    const before = await a.acquire('shard.1', 'a');
    for (let i = 0; i < 5; i++) await a.take('shard.1', 'a', (await a.get('shard.1'))!.revision);
    const host = await hosts.acquire('host.a', 'a');
    const firstCreated = await a.createdAt();

    await restartNatsWithEmptyStore(server);
    const backAt = Date.now();

    // Both tables find the bucket missing at once: both recreate it (one stream), and both fail the operation.
    const [ra, rb] = await Promise.all([settled(() => a.renew('shard.1', 'a', before!.revision)), settled(() => b.acquire('shard.2', 'b'))]);
    for (const r of [ra, rb]) {
      expect(r.ok, 'the operation that found the bucket missing fails').toBe(false);
      expect((r as { err: Error }).err).toBeInstanceOf(LeaseStorageRecreatedError);
    }
    // Everything is gone: the old holder's renewal is refused, the key is free.
    expect(await a.get('shard.1')).toBeNull();
    expect(await a.renew('shard.1', 'a', before!.revision)).toBeNull();
    const after = await b.acquire('shard.1', 'b');
    expect(after).not.toBeNull();
    expect(await a.get('shard.1')).toEqual({ owner: 'b', revision: after!.revision });
    // Revisions restarted, but the fencing epoch of the new holder is above the lost holder's.
    expect(after!.revision).toBeLessThan(before!.revision + 5);
    expect(fencingEpoch(after!)).toBeGreaterThan(fencingEpoch(before!));
    // Both tables see the recreation; it happened after NATS was back (server and test share a clock here).
    const recreatedAt = await a.createdAt();
    expect(await b.createdAt()).toBe(recreatedAt);
    expect(recreatedAt).toBeGreaterThan(firstCreated);
    expect(recreatedAt).toBeGreaterThanOrEqual(backAt - 1000);
    expect(recreatedAt).toBeLessThanOrEqual(Date.now() + 1000);

    // A table with a TTL comes back with it: the renewal fails once, is then refused (lost), and a new lease expires on time.
    const renewed = await settled(() => hostsRecreating.renew('host.a', 'a', host!.revision));
    expect(renewed.ok).toBe(false);
    expect((renewed as { err: Error }).err).toBeInstanceOf(LeaseStorageRecreatedError);
    expect(recreations).toBe(1);
    expect(await hosts.renew('host.a', 'a', host!.revision)).toBeNull();
    const listed = await hosts.live('host.');
    expect(listed.keys).toEqual([]);
    expect(listed.createdAtMs).toBeGreaterThanOrEqual(backAt - 1000);
    expect(await hosts.acquire('host.a', 'a')).not.toBeNull();
    const { keys, latestWriteAtMs } = await hosts.live('host.');
    expect(keys).toEqual(['host.a']);
    expect(latestWriteAtMs).toBeGreaterThanOrEqual(listed.createdAtMs);
    const start = performance.now();
    while ((await hosts.get('host.a')) !== null) {
      expect(performance.now() - start, 'the recreated bucket lost its TTL').toBeLessThan(TTL_MS * 5);
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 60_000);
});
