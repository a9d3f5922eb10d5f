import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { type LeaseWrite, type NatsBus, NatsKvLeaseTable, claimsBucketOf, connectNatsBus, fencingEpoch, silentLogger } from '@chat/platform';
import { type NatsServerProcess, restartNatsWithEmptyStore, startNatsServer } from '@chat/testkit/servers';
import { ActorMetrics } from '../metrics.js';
import { LeaseOwnership } from './lease-ownership.js';
import { assignShards } from './shard-assignment.js';
import type { OwnershipListener } from './shard-ownership.js';

const SHARDS = 16;
const TTL_MS = 1200;

/** Who serves which shard, across all hosts of a test: a shard served twice at once fails the test. */
class ServingLog {
  readonly serving = new Map<number, string>();
  readonly violations: string[] = [];
  readonly events: { host: string; shard: number; kind: 'acquired' | 'released'; at: number; wallAt: number; epoch?: number }[] = [];

  listener(host: string, options: { drainMs?: number } = {}): OwnershipListener {
    return {
      acquired: (shard, epoch) => {
        const other = this.serving.get(shard);
        if (other !== undefined && other !== host) this.violations.push(`shard ${shard} acquired by ${host} while ${other} serves it`);
        this.serving.set(shard, host);
        this.events.push({ host, shard, kind: 'acquired', at: performance.now(), wallAt: Date.now(), epoch });
      },
      releasing: async (shard) => {
        if (this.serving.get(shard) === host) this.serving.delete(shard);
        this.events.push({ host, shard, kind: 'released', at: performance.now(), wallAt: Date.now() });
        if (options.drainMs) await new Promise((r) => setTimeout(r, options.drainMs));
      },
    };
  }

  countOf(host: string): number {
    return [...this.serving.values()].filter((h) => h === host).length;
  }
}

/** chat_shard_acquisitions_total by reason. */
async function acquisitions(metrics: ActorMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.shardAcquisitions.get()).values) if (v.value > 0) out[String(v.labels.reason)] = v.value;
  return out;
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('LeaseOwnership on a real nats-server', () => {
  let server: NatsServerProcess;
  const buses: NatsBus[] = [];
  const hosts: LeaseOwnership[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server.stop();
  });
  afterEach(async () => {
    await Promise.all(hosts.splice(0).map((h) => h.stop().catch(() => {})));
    await Promise.all(buses.splice(0).map((b) => b.close().catch(() => {})));
  });

  async function host(name: string, log: ServingLog, bucket: string, options: { drainMs?: number } = {}) {
    const bus = await connectNatsBus({ servers: server.url, name, logger: silentLogger() });
    buses.push(bus);
    const hostTable = await NatsKvLeaseTable.open(bus.connection, { ttlMs: TTL_MS, bucket });
    const claims = await NatsKvLeaseTable.open(bus.connection, { ttlMs: 0, bucket: claimsBucketOf(bucket) });
    const metrics = new ActorMetrics(new Registry());
    const ownership = new LeaseOwnership({ hosts: hostTable, claims, hostId: `${name}-${randomUUID().slice(0, 6)}`, shardCount: SHARDS, logger: silentLogger(), metrics });
    await ownership.start(log.listener(name, options));
    hosts.push(ownership);
    return { ownership, bus, metrics };
  }

  it('a lone host serves every shard once its first round is done', async () => {
    const log = new ServingLog();
    const a = await host('a', log, `b${randomUUID().slice(0, 8)}`);
    expect(a.ownership.ownedShards()).toHaveLength(SHARDS);
    expect(log.countOf('a')).toBe(SHARDS);
    for (let s = 0; s < SHARDS; s++) expect(a.ownership.epochOf(s)).toBeGreaterThan(0);
  });

  it('a joining host takes its even share by hand-off, never with two hosts serving one shard', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const a = await host('a', log, bucket, { drainMs: 30 });
    const epochsBefore = new Map(Array.from({ length: SHARDS }, (_, s) => [s, a.ownership.epochOf(s)!]));
    const b = await host('b', log, bucket, { drainMs: 30 });
    await until(() => log.countOf('a') === SHARDS / 2 && log.countOf('b') === SHARDS / 2);
    expect(log.violations).toEqual([]);
    await expect(a.metrics.handoffs.get().then((m) => m.values[0]?.value)).resolves.toBe(SHARDS / 2);
    // The new owner's epoch is above the old owner's.
    for (const s of b.ownership.ownedShards()) expect(b.ownership.epochOf(s)!).toBeGreaterThan(epochsBefore.get(s)!);
    // A stopping host hands everything back at once, without waiting for expiry.
    await a.ownership.stop();
    await until(() => log.countOf('b') === SHARDS, 3 * TTL_MS);
    expect(log.violations).toEqual([]);
  });

  it('when a host goes silent, it stops serving before anyone else can take its shards', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const a = await host('a', log, bucket);
    const b = await host('b', log, bucket);
    await until(() => log.countOf('a') === SHARDS / 2 && log.countOf('b') === SHARDS / 2);
    const aShards = a.ownership.ownedShards();
    // Cut a off from NATS: its renewals fail from now on.
    await a.bus.close();
    await until(() => log.countOf('b') === SHARDS, 6 * TTL_MS);
    expect(log.violations).toEqual([]);
    for (const shard of aShards) {
      const released = log.events.find((e) => e.host === 'a' && e.shard === shard && e.kind === 'released');
      const taken = log.events.find((e) => e.host === 'b' && e.shard === shard && e.kind === 'acquired');
      expect(released, `a released shard ${shard}`).toBeDefined();
      expect(taken, `b took shard ${shard}`).toBeDefined();
      expect(released!.at).toBeLessThan(taken!.at);
      expect(a.ownership.epochOf(shard)).toBeUndefined();
    }
    // b got its first half by hand-off (released claims: free) and a's half by takeover.
    expect(await acquisitions(b.metrics)).toEqual({ free: SHARDS / 2, takeover: SHARDS / 2 });
    expect(await acquisitions(a.metrics)).toEqual({ free: SHARDS });
  });
  /**
   * A member that holds a host lease and shard claims without a LeaseOwnership:
   * it never hands anything off, so only its lease decides whether its claims
   * may be taken.
   */
  async function ghost(bucket: string) {
    const bus = await connectNatsBus({ servers: server.url, name: 'ghost', logger: silentLogger() });
    buses.push(bus);
    const hostTable = await NatsKvLeaseTable.open(bus.connection, { ttlMs: TTL_MS, bucket });
    const claims = await NatsKvLeaseTable.open(bus.connection, { ttlMs: 0, bucket: claimsBucketOf(bucket) });
    let revision = (await hostTable.acquire('host.ghost', 'ghost'))!.revision;
    let renewedAt = performance.now();
    const timer = setInterval(() => {
      void hostTable.renew('host.ghost', 'ghost', revision).then((r) => {
        if (r !== null) [revision, renewedAt] = [r, performance.now()];
      });
    }, TTL_MS / 4);
    const held = new Map<number, LeaseWrite>();
    for (let s = 0; s < SHARDS; s++) held.set(s, (await claims.acquire(`shard.${s}`, 'ghost'))!);
    return {
      hostTable,
      claims,
      held,
      /** Stops renewing; resolves with when the last renewal was sent at the latest. */
      silence: () => {
        clearInterval(timer);
        return renewedAt;
      },
    };
  }

  it('a host does not take a claimed shard while the owner host lease lives, and takes it once that lease is gone, with a higher epoch', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const g = await ghost(bucket);
    const b = await host('b', log, bucket);
    // The ghost never hands off; b waits for it however many rounds pass.
    await new Promise((r) => setTimeout(r, 3 * TTL_MS));
    expect(b.ownership.ownedShards()).toEqual([]);
    const lastRenewal = g.silence();
    await until(() => log.countOf('b') === SHARDS, 6 * TTL_MS);
    const firstTake = Math.min(...log.events.filter((e) => e.host === 'b' && e.kind === 'acquired').map((e) => e.at));
    expect(firstTake - lastRenewal, 'taken only after the ghost lease expired').toBeGreaterThanOrEqual(TTL_MS * 0.9);
    for (let s = 0; s < SHARDS; s++) expect(b.ownership.epochOf(s)!).toBeGreaterThan(fencingEpoch(g.held.get(s)!));
    expect(await g.claims.get('shard.0')).toMatchObject({ owner: expect.stringMatching(/^b-/) });
    expect(await acquisitions(b.metrics)).toEqual({ takeover: SHARDS });
  });

  it('a claim its owner released is taken at once by the host it is assigned to, while the owner lives', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const g = await ghost(bucket);
    const b = await host('b', log, bucket);
    const member = (await g.hostTable.live('host.')).keys.find((k) => k !== 'host.ghost')!.slice('host.'.length);
    const target = assignShards(SHARDS, ['ghost', member]);
    const shard = target.indexOf(member);
    expect(shard).toBeGreaterThanOrEqual(0);
    await new Promise((r) => setTimeout(r, TTL_MS));
    expect(b.ownership.ownedShards()).toEqual([]);
    const releasedAt = performance.now();
    await g.claims.release(`shard.${shard}`, g.held.get(shard)!.revision);
    await until(() => b.ownership.ownedShards().includes(shard), TTL_MS);
    // Within about one round (half the TTL), long before the ghost lease could expire.
    expect(performance.now() - releasedAt).toBeLessThan(TTL_MS);
    expect(b.ownership.ownedShards()).toEqual([shard]);
    expect(await g.hostTable.get('host.ghost')).not.toBeNull();
    g.silence();
  });
});

describe('LeaseOwnership when NATS comes back without its JetStream store', () => {
  // Long enough that a cut-off holder still serves when the others are back on the recreated buckets,
  // with room for a slow NATS restart on a loaded machine (it keeps serving 0.9 of it).
  const LOSS_TTL_MS = 5000;
  let server: NatsServerProcess;
  const buses: NatsBus[] = [];
  const hosts: LeaseOwnership[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop().catch(() => {})));
    await Promise.all(buses.map((b) => b.close().catch(() => {})));
    await server.stop();
  });

  async function host(name: string, log: ServingLog, bucket: string) {
    const bus = await connectNatsBus({ servers: server.url, name, logger: silentLogger() });
    buses.push(bus);
    const hostTable = await NatsKvLeaseTable.open(bus.connection, { ttlMs: LOSS_TTL_MS, bucket });
    const claims = await NatsKvLeaseTable.open(bus.connection, { ttlMs: 0, bucket: claimsBucketOf(bucket) });
    const ownership = new LeaseOwnership({ hosts: hostTable, claims, hostId: name, shardCount: SHARDS, logger: silentLogger(), metrics: new ActorMetrics(new Registry()) });
    hosts.push(ownership);
    await ownership.start(log.listener(name));
    return { ownership, bus, hostTable, claims };
  }

  it('a brand-new cluster takes its shards a TTL after it created the lease storage, on the server clock', async () => {
    const log = new ServingLog();
    const before = Date.now();
    const a = await host('a', log, `b${randomUUID().slice(0, 8)}`);
    const created = Math.max(await a.hostTable.createdAt(), await a.claims.createdAt());
    expect(created).toBeGreaterThanOrEqual(before - 50);
    expect(a.ownership.ownedShards()).toHaveLength(SHARDS);
    // start() resolves once the host serves, after the hold (server and test share a clock here).
    for (const e of log.events) expect(e.wallAt - created).toBeGreaterThanOrEqual(LOSS_TTL_MS - 20);
  }, 30_000);

  it('a host that starts while the lease storage is missing creates it and takes nothing until a TTL later, while a cut-off former owner may still serve', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const a = await host('a', log, bucket);
    expect(a.ownership.ownedShards()).toHaveLength(SHARDS);
    const epochsBefore = new Map(a.ownership.ownedShards().map((s) => [s, a.ownership.epochOf(s)!]));
    // a is cut off while NATS loses its store: it still believes it holds every shard, up to its deadline.
    await a.bus.close();
    await restartNatsWithEmptyStore(server);
    expect(a.ownership.ownedShards()).toHaveLength(SHARDS);

    // A new host starts: it finds the buckets missing and creates them.
    const c = await host('c', log, bucket);
    const created = Math.max(await c.hostTable.createdAt(), await c.claims.createdAt());
    expect(c.ownership.ownedShards()).toHaveLength(SHARDS);
    expect(log.violations, 'the new host took shards the cut-off owner still served').toEqual([]);
    const taken = log.events.filter((e) => e.host === 'c' && e.kind === 'acquired');
    expect(taken).toHaveLength(SHARDS);
    for (const e of taken) {
      expect(e.wallAt - created, `shard ${e.shard} taken before a TTL passed since the storage was created`).toBeGreaterThanOrEqual(LOSS_TTL_MS - 20);
      expect(e.epoch!, `epoch of shard ${e.shard} grew across the loss`).toBeGreaterThan(epochsBefore.get(e.shard)!);
      const released = log.events.find((r) => r.host === 'a' && r.shard === e.shard && r.kind === 'released');
      expect(released, `a stopped serving shard ${e.shard}`).toBeDefined();
      expect(released!.at).toBeLessThan(e.at);
    }
    expect(a.ownership.holdsLease()).toBe(false);
  }, 60_000);

  it('no host takes a shard until every holder of a lost claim has stopped serving it, and epochs keep growing', async () => {
    const log = new ServingLog();
    const bucket = `b${randomUUID().slice(0, 8)}`;
    const a = await host('a', log, bucket);
    const b = await host('b', log, bucket);
    await until(() => log.countOf('a') === SHARDS / 2 && log.countOf('b') === SHARDS / 2);
    const aShards = a.ownership.ownedShards();
    const epochsBefore = new Map([...aShards, ...b.ownership.ownedShards()].map((s) => [s, (a.ownership.epochOf(s) ?? b.ownership.epochOf(s))!]));
    // a is cut off (it keeps serving until its deadline, up to 0.9 TTL away) while NATS loses its store.
    await a.bus.close();
    await restartNatsWithEmptyStore(server);
    const backAt = performance.now();

    // b finds the buckets gone, rejoins alone, and takes every shard, but only after the hold.
    await until(() => log.countOf('b') === SHARDS, 8 * LOSS_TTL_MS);
    expect(log.violations).toEqual([]);
    expect(b.ownership.holdsLease()).toBe(true);
    expect(a.ownership.holdsLease()).toBe(false);
    const retaken = log.events.filter((e) => e.host === 'b' && e.kind === 'acquired' && e.at > backAt);
    expect(retaken).toHaveLength(SHARDS);
    for (const e of retaken) {
      expect(e.at - backAt, `shard ${e.shard} taken before a TTL passed since NATS was back`).toBeGreaterThanOrEqual(LOSS_TTL_MS - 50);
      expect(e.epoch!, `epoch of shard ${e.shard} grew across the loss`).toBeGreaterThan(epochsBefore.get(e.shard)!);
    }
    for (const shard of aShards) {
      const released = log.events.find((e) => e.host === 'a' && e.shard === shard && e.kind === 'released');
      expect(released, `a stopped serving shard ${shard}`).toBeDefined();
      expect(released!.at).toBeLessThan(retaken.find((e) => e.shard === shard)!.at);
    }
  }, 60_000);
});
