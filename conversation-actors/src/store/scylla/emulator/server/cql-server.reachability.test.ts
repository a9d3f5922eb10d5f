import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, errors, policies } from 'cassandra-driver';
import { EmulatedCluster } from '../emulated-cluster.js';
import { rejection } from '../fixtures.js';
import { type CqlServer, type UnreachableMode, startCqlServer } from './cql-server.js';

// cluster.setReachable(false) on the wire, in both modes, with the real
// driver: what it reports, how fast, that nothing held is ever applied, and
// how it recovers.

// The client's read timeout while the cluster is unreachable (passed per request: setting up keeps the driver's ample default).
const READ_TIMEOUT_MS = 200;
const PREPARED = { prepare: true } as const;
const SHORT = { ...PREPARED, readTimeout: READ_TIMEOUT_MS } as const;

describe('an unreachable cluster, seen through the driver', () => {
  let server: CqlServer | undefined;
  let client: Client | undefined;

  afterEach(async () => {
    await client?.shutdown();
    await server?.close();
    expect(server?.cluster.violations).toEqual([]);
  });

  async function setUp(unreachable: UnreachableMode): Promise<{ cluster: EmulatedCluster; client: Client }> {
    const cluster = new EmulatedCluster();
    server = await startCqlServer({ cluster, unreachable });
    const admin = cluster.client();
    await admin.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await cluster.client({ keyspace: 'ks' }).execute('CREATE TABLE kv (k text PRIMARY KEY, v text)');
    client = new Client({
      contactPoints: [`127.0.0.1:${server.port}`],
      localDataCenter: 'datacenter1',
      keyspace: 'ks',
      policies: { reconnection: new policies.reconnection.ConstantReconnectionPolicy(100) },
    });
    await client.connect();
    await client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['k', 'before'], PREPARED);
    // Prepared now: a PREPARE during the outage would wait out the client's default timeout, not the request's.
    expect(await read(client)).toBe('before');
    return { cluster, client };
  }

  async function read(c: Client, options: object = PREPARED): Promise<unknown> {
    return (await c.execute('SELECT v FROM kv WHERE k = ?', ['k'], { ...options, isIdempotent: true })).first()['v'];
  }

  it('hold: requests go unanswered, so the driver times out (OperationTimedOutError; NoHostAvailableError for an idempotent one); nothing is applied; it works at once after', async () => {
    const { cluster, client: c } = await setUp('hold');
    const logged = cluster.log.length;
    cluster.setReachable(false);
    const started = Date.now();
    const write = await rejection(c.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['k', 'during'], SHORT));
    expect(write).toBeInstanceOf(errors.OperationTimedOutError);
    const idempotent = await rejection(read(c, SHORT));
    expect(idempotent).toBeInstanceOf(errors.NoHostAvailableError);
    expect(Object.values((idempotent as errors.NoHostAvailableError).innerErrors)[0]).toBeInstanceOf(errors.OperationTimedOutError);
    expect(Date.now() - started).toBeLessThan(READ_TIMEOUT_MS * 2 + 1000);
    cluster.setReachable(true);
    expect(await read(c)).toBe('before');
    expect(cluster.log.slice(logged).map((e) => e.params)).toEqual([['k']]);
  });

  it('hold: a request still waiting when the cluster comes back is refused, never applied (NoHostAvailableError through the driver’s retry policy)', async () => {
    const { cluster, client: c } = await setUp('hold');
    cluster.setReachable(false);
    const pending = rejection(c.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['k', 'late'], PREPARED));
    await delay(100);
    const released = Date.now();
    cluster.setReachable(true);
    const err = await pending;
    expect(Date.now() - released).toBeLessThan(1000);
    expect(err).toBeInstanceOf(errors.NoHostAvailableError);
    expect(Object.values((err as errors.NoHostAvailableError).innerErrors)[0]).toMatchObject({ message: expect.stringMatching(/Not enough replicas available/) });
    expect(await read(c)).toBe('before');
  });

  it('close: connections are dropped and new ones refused, the driver fails at once with NoHostAvailableError, and reconnects by itself after', async () => {
    const { cluster, client: c } = await setUp('close');
    cluster.setReachable(false);
    await expect.poll(() => c.hosts.values().every((h) => !h.isUp()), { timeout: 2000 }).toBe(true);
    const started = Date.now();
    expect(await rejection(c.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['k', 'during'], PREPARED))).toBeInstanceOf(errors.NoHostAvailableError);
    expect(await rejection(read(c))).toBeInstanceOf(errors.NoHostAvailableError);
    expect(Date.now() - started).toBeLessThan(1000); // at once, not after a read timeout (the default is 12 s)
    await delay(300); // reconnection attempts are refused meanwhile
    expect(server?.connections).toBe(0);
    const refused = await new Promise<unknown>((resolve) => connect(server?.port ?? 0, '127.0.0.1').once('error', resolve).once('connect', () => resolve('connected')));
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    cluster.setReachable(true);
    await expect.poll(() => read(c).catch(() => 'unavailable'), { timeout: 3000, interval: 100 }).toBe('before');
  });
});
