import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errors, types } from 'cassandra-driver';
import { FaultyCql, writeFailure } from '@chat/testkit/faulty-cql';
import { dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace, startCutOffProxy } from '@chat/testkit/live-cql';
import { StoreCannotWriteError, StoreUnavailableError } from '../../errors.js';
import { WriteHealthStore } from '../write-health.js';
import type { ScyllaOptions } from './scylla-config.js';
import { CQL } from './scylla-cql.js';
import { createScyllaClient } from './scylla-session.js';
import { openScyllaStore } from './scylla-store.js';

// ScyllaStore.probeWrite on the test run's real Cassandra node (testkit/live-cql):
// what it writes, and that a WriteHealthStore over the Scylla store becomes
// writable again by its probe alone once replicas take writes. Replicas that
// cannot write are emulated by FaultyCql answering the store's writes with a
// write failure (the node's own answer to a full or failing disk).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(10);
  }
}

const ann = { id: 'ann', name: 'Ann' };
const bob = { id: 'bob', name: 'Bob' };
const isWrite = (query: string): boolean => !/^\s*SELECT\b/i.test(query);

const live = liveCql('ScyllaStore write probe on a live CQL server');

describe.skipIf(!live)(`ScyllaStore write probe on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_probe');
  let options: ScyllaOptions;
  const cql = new FaultyCql();

  beforeAll(async () => {
    options = await migrateLiveKeyspace(live!, keyspace);
  }, 120_000);

  afterAll(async () => {
    await dropLiveKeyspace(live!, keyspace);
    expect(cql.violations).toEqual([]);
  }, 120_000);

  /** The write_probes rows as the node holds them, with the seconds their cell has left to live. */
  async function probeRows(): Promise<{ id: string; at: number; ttl: number }[]> {
    const client = createScyllaClient(options);
    try {
      await client.connect();
      const result = await client.execute('SELECT probe_id, probed_at, TTL(probed_at) AS ttl FROM write_probes', [], { prepare: true });
      return result.rows.map((r) => ({ id: r['probe_id'] as string, at: (r['probed_at'] as types.Long).toNumber(), ttl: r['ttl'] as number }));
    } finally {
      await client.shutdown();
    }
  }

  it('writes one cell of its own partition in write_probes, prepared, at the store’s consistency, touching no chat table, expiring by itself', async () => {
    const store = await openScyllaStore(options, cql.connector);
    const other = await openScyllaStore(options, cql.connector);
    try {
      const before = Date.now();
      const from = cql.log.length;
      await store.probeWrite!();
      await store.probeWrite!();
      const sent = cql.log.slice(from);
      expect(sent.map((r) => [r.kind, r.query, r.lwt, r.error])).toEqual([
        ['insert', CQL.putWriteProbe, false, undefined],
        ['insert', CQL.putWriteProbe, false, undefined],
      ]);
      // No consistency of its own: the client's, SCYLLA_CONSISTENCY, as every write of the store.
      for (const r of sent) {
        expect(r.options.prepare).toBe(true);
        expect(r.options.consistency).toBeUndefined();
      }

      const rows = await probeRows();
      expect(rows).toHaveLength(1); // probes overwrite one cell, never accumulate
      expect(rows[0]!.id).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/[0-9a-f]{8}$`));
      expect(rows[0]!.at).toBeGreaterThanOrEqual(before);
      expect(rows[0]!.ttl).toBeGreaterThan(500);
      expect(rows[0]!.ttl).toBeLessThanOrEqual(600);

      await other.probeWrite!();
      expect(new Set((await probeRows()).map((r) => r.id)).size).toBe(2); // a partition per store instance
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('a WriteHealthStore over it turns unwritable on a write failure and writable again by the probe alone once replicas write', async () => {
    const health = new WriteHealthStore(await openScyllaStore(options, cql.connector), { probeMs: 50 });
    try {
      await health.upsertUser(ann);
      const fault = cql.inject({ match: isWrite, error: writeFailure, when: 'before' });
      let removed = false;
      try {
        const failed = await health.upsertUser(bob).catch((e: unknown) => e);
        expect(failed).toBeInstanceOf(StoreCannotWriteError);
        expect((failed as Error).cause).toMatchObject({ code: types.responseErrorCodes.writeFailure });
        expect(health.writable).toBe(false);
        expect(await health.getUsers(['ann'])).toEqual([ann]); // reads go on

        // The probes fail as the write did (StoreCannotWriteError), so it stays unwritable.
        const hits = fault.hits;
        await until(() => fault.hits >= hits + 3, 5000);
        expect(health.writable).toBe(false);
        expect(health.failure?.message).toMatch(/^probeWrite: /);

        // Replicas write again. From here on the store is sent nothing but probes.
        const mark = cql.log.length;
        fault.remove();
        removed = true;
        await until(() => health.writable, 5000);
        const since = cql.log.slice(mark);
        expect(since.length).toBeGreaterThan(0);
        expect(since.filter((r) => r.query !== CQL.putWriteProbe)).toEqual([]);
        expect(since.some((r) => r.error === undefined)).toBe(true);

        // Probing stops once writable.
        const settled = cql.log.length;
        await sleep(300);
        expect(cql.log.slice(settled)).toEqual([]);
      } finally {
        if (!removed) fault.remove();
      }
      await health.upsertUser(bob);
      expect((await health.getUsers(['ann', 'bob'])).map((u) => u.id).sort()).toEqual(['ann', 'bob']);
    } finally {
      await health.close();
    }
  });

  it('a probe that reaches no node is StoreUnavailableError, which leaves readiness as it was', async () => {
    // Behind a proxy of its own that holds traffic (the node is shared with suites running alongside); a short request timeout.
    const proxy = await startCutOffProxy(live!.contactPoints.split(',')[0]!);
    const health = new WriteHealthStore(await openScyllaStore({ ...options, contactPoints: [proxy.contactPoint], requestTimeoutMs: 2000 }, cql.connector));
    try {
      proxy.setReachable(false);
      try {
        const err = await health.probeWrite().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).not.toBeInstanceOf(StoreCannotWriteError);
        expect((err as Error).cause).toBeInstanceOf(errors.NoHostAvailableError);
        expect(health.writable).toBe(true);
      } finally {
        proxy.setReachable(true);
      }
      await health.probeWrite();
    } finally {
      await health.close();
      await proxy.close();
    }
  });
});
