import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type ClientOptions, errors, types } from 'cassandra-driver';
import { loadEnvConfig } from '@chat/platform';
import { capturingLogger } from '@chat/platform/testing';
import { scyllaEnvSchema, scyllaOptionsFromEnv } from '../../scylla-config.js';
import { createScyllaClient } from '../../scylla-session.js';
import { EmulatedCluster } from '../emulated-cluster.js';
import { TEST_TABLES, expectResponseError, plain, rejection } from '../fixtures.js';
import { type CqlServer, startCqlServer } from './cql-server.js';

// The server against the real cassandra-driver, configured as the store
// configures it (createScyllaClient: token-aware routing, LOCAL_QUORUM,
// everything prepared unless told otherwise): connecting, the system tables,
// DDL, USE, values of every type, prepared metadata, paging, batches, LWTs,
// client timestamps, errors and injected faults, re-preparing, events.

const codes = types.responseErrorCodes;
const PREPARED = { prepare: true } as const;

describe('the CQL server, with the real driver', () => {
  const cluster = new EmulatedCluster();
  const { logger, lines } = capturingLogger();
  const clients: Client[] = [];
  let server: CqlServer;
  let client: Client;

  /** A driver client of the server, shut down after the suite. */
  const connect = async (options: Partial<ClientOptions> = {}): Promise<Client> => {
    const c = new Client({ contactPoints: [`127.0.0.1:${server.port}`], localDataCenter: 'datacenter1', socketOptions: { readTimeout: 2000 }, ...options });
    clients.push(c);
    await c.connect();
    return c;
  };

  /** The store's client of the server (a driver Client behind the CqlClient interface). */
  const storeClient = async (keyspace: boolean): Promise<Client> => {
    const env = { SCYLLA_CONTACT_POINTS: `127.0.0.1:${server.port}`, SCYLLA_KEYSPACE: 'ks', SCYLLA_REQUEST_TIMEOUT_MS: '2000' };
    const c = createScyllaClient(scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env)), { keyspace }) as Client;
    clients.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    server = await startCqlServer({ cluster, logger });
    const admin = await storeClient(false);
    await admin.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    client = await storeClient(true);
    for (const ddl of TEST_TABLES) await client.execute(ddl);
  });

  afterAll(async () => {
    for (const c of clients) await c.shutdown();
    await server.close();
    expect(cluster.violations).toEqual([]);
  });

  it('connects in protocol v4 after refusing the driver’s higher versions, to one node in datacenter1 that owns the ring', async () => {
    const internals = client as unknown as { controlConnection: { protocolVersion: number } };
    expect(internals.controlConnection.protocolVersion).toBe(types.protocolVersion.v4);
    const hosts = client.hosts.values();
    expect(hosts.map((h) => [h.address, h.datacenter, h.rack, h.cassandraVersion])).toEqual([[`127.0.0.1:${server.port}`, 'datacenter1', 'rack1', '3.11.0']]);
    expect(client.metadata.keyspaces['ks']).toMatchObject({ name: 'ks', strategy: 'org.apache.cassandra.locator.SimpleStrategy' });
    expect(client.getReplicas('ks', Buffer.from('any key')).map((h) => h.address)).toEqual([`127.0.0.1:${server.port}`]);
    expect(server.connections).toBeGreaterThanOrEqual(2);
  });

  it('answers the system tables: system.local, empty peers, unconfigured peers_v2, system_schema with typed columns', async () => {
    const local = (await client.execute("SELECT * FROM system.local WHERE key='local'", [], { prepare: false })).first();
    expect(local['rpc_address']).toBeInstanceOf(types.InetAddress);
    expect(local['rpc_address'].toString()).toBe('127.0.0.1');
    expect(plain(await client.execute('SELECT data_center, tokens, partitioner, native_protocol_version FROM system.local'))).toEqual([
      { data_center: 'datacenter1', tokens: ['0'], partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner', native_protocol_version: '4' },
    ]);
    const peers = await client.execute('SELECT * FROM system.peers', [], { prepare: false });
    expect(peers.rows).toEqual([]);
    expect(peers.columns.find((c) => c.name === 'rpc_address')?.type.code).toBe(types.dataTypes.inet);
    await expectResponseError(client.execute('SELECT * FROM system.peers_v2'), codes.invalid, 'unconfigured table peers_v2');
    const keyspaces = await client.execute("SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'ks'");
    expect(plain(keyspaces)).toEqual([{ keyspace_name: 'ks', durable_writes: true, replication: { class: 'org.apache.cassandra.locator.SimpleStrategy', replication_factor: '1' } }]);
    expect((await client.execute("SELECT * FROM system_schema.tables WHERE keyspace_name='ks' AND table_name='kv'")).rows).toEqual([]);
    // Unprepared (QUERY) above, prepared (PREPARE, EXECUTE) here.
    expect((await client.execute('SELECT cluster_name FROM system.local', [], PREPARED)).first()['cluster_name']).toBe('emulator');
  });

  it('answers DDL with schema changes (a new schema_version each), IF NOT EXISTS on what exists with Void, and AlreadyExists with its keyspace and table', async () => {
    const version = async () => (await client.execute('SELECT schema_version FROM system.local')).first()['schema_version'].toString();
    const before = await version();
    const created = await client.execute('CREATE TABLE ddl_t (k text PRIMARY KEY, v text)');
    expect((created.info as { isSchemaInAgreement?: boolean }).isSchemaInAgreement).toBe(true);
    expect(await version()).not.toBe(before);
    const after = await version();
    await client.execute('CREATE TABLE IF NOT EXISTS ddl_t (k text PRIMARY KEY, v text)');
    expect(await version()).toBe(after);
    const exists = await expectResponseError(client.execute('CREATE TABLE ddl_t (k text PRIMARY KEY)'), codes.alreadyExists, 'Cannot add already existing table "ddl_t"');
    expect(exists).toMatchObject({ keyspace: 'ks', table: 'ddl_t' });
    await client.execute('DROP TABLE ddl_t');
    await expectResponseError(client.execute('SELECT * FROM ddl_t WHERE k = ?', ['a'], PREPARED), codes.invalid, 'unconfigured table ddl_t');
  });

  it('USE sets the connection’s keyspace; an unknown keyspace is refused, on USE and on connect', async () => {
    const c = await connect();
    await expectResponseError(c.execute('SELECT v FROM kv WHERE k = ?', ['a'], PREPARED), codes.invalid, 'No keyspace has been specified');
    await c.execute('USE ks');
    expect(c.keyspace).toBe('ks');
    expect((await c.execute('SELECT v FROM kv WHERE k = ?', ['none'], PREPARED)).rows).toEqual([]);
    await expectResponseError(c.execute('USE nope'), codes.invalid, "Keyspace 'nope' does not exist");
    const refused = new Client({ contactPoints: [`127.0.0.1:${server.port}`], localDataCenter: 'datacenter1', keyspace: 'nope' });
    await expectResponseError(refused.connect(), codes.invalid, "Keyspace 'nope' does not exist");
    await refused.shutdown();
  });

  it('round-trips every column type, null and unset through prepared statements', async () => {
    const uuid = types.Uuid.random();
    const timeuuid = types.TimeUuid.now();
    const when = new Date(1_700_000_000_123);
    const insert = 'INSERT INTO kv (k, v, n, i, b, t, d, x, u, tu, a) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
    await client.execute(insert, ['types', 'text ✓', types.Long.fromString('9007199254740993'), -42, false, when, 2.5, Buffer.from([1, 2]), uuid, timeuuid, 'ascii'], PREPARED);
    const row = (await client.execute('SELECT * FROM kv WHERE k = ?', ['types'], PREPARED)).first();
    expect(row['n'].toString()).toBe('9007199254740993');
    expect([row['v'], row['i'], row['b'], row['t'], row['d'], row['x'], row['a']]).toEqual(['text ✓', -42, false, when, 2.5, Buffer.from([1, 2]), 'ascii']);
    expect([row['u'].toString(), row['tu'].toString()]).toEqual([uuid.toString(), timeuuid.toString()]);
    // unset leaves a column as it is; null deletes it.
    await client.execute('UPDATE kv SET v = ?, i = ? WHERE k = ?', [types.unset, null, 'types'], PREPARED);
    expect(plain(await client.execute('SELECT v, i FROM kv WHERE k = ?', ['types'], PREPARED))).toEqual([{ v: 'text ✓', i: null }]);
    const logged = cluster.log.findLast((e) => e.query.startsWith('UPDATE kv'));
    expect(logged?.params).toEqual([types.unset, null, 'types']);
  });

  it('describes prepared statements: bind markers by column, partition-key indexes for routing, result columns', async () => {
    const info = (query: string) => {
      const metadata = client.metadata as unknown as { getPreparedInfo(ks: string, q: string): { meta: { columns: { name: string; type: { code: number } }[]; partitionKeys: number[] } } };
      return metadata.getPreparedInfo('ks', query).meta;
    };
    const insert = 'INSERT INTO events (v, q, p, c1, c2) VALUES (?, ?, ?, ?, ?)';
    await client.execute(insert, ['v', 1, 'p', 'c', 2], PREPARED);
    expect(info(insert).columns.map((c) => [c.name, c.type.code])).toEqual([['v', 10], ['q', 9], ['p', 10], ['c1', 10], ['c2', 2]]);
    expect(info(insert).partitionKeys).toEqual([2, 1]);
    const select = 'SELECT c2, v FROM events WHERE p = ? AND q = ? LIMIT ?';
    const rows = await client.execute(select, ['p', 1, 10], PREPARED);
    expect(info(select).columns.map((c) => c.name)).toEqual(['p', 'q', '[limit]']);
    expect(info(select).partitionKeys).toEqual([0, 1]);
    expect(rows.columns.map((c) => c.name)).toEqual(['c2', 'v']);
    const literal = "SELECT v FROM events WHERE p = 'p' AND q = ?";
    await client.execute(literal, [1], PREPARED);
    expect(info(literal).partitionKeys).toEqual([]);
  });

  it('pages with fetchSize and pageState, and through the driver’s own paging; LIMIT spans pages', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => client.execute('INSERT INTO log (p, seq, v) VALUES (?, ?, ?)', ['paged', i, `v${i}`], PREPARED)));
    const query = 'SELECT seq FROM log WHERE p = ?';
    const sizes: number[] = [];
    let pageState: string | undefined;
    do {
      const page = await client.execute(query, ['paged'], { ...PREPARED, fetchSize: 10, pageState });
      sizes.push(page.rowLength);
      pageState = page.pageState ?? undefined;
    } while (pageState);
    expect(sizes).toEqual([10, 10, 5]);
    const all: number[] = [];
    for await (const row of await client.execute(query, ['paged'], { ...PREPARED, fetchSize: 7 })) all.push(Number(row['seq']));
    expect(all).toEqual(Array.from({ length: 25 }, (_, i) => i));
    const limited = await client.execute(`${query} LIMIT ?`, ['paged', 15], { ...PREPARED, fetchSize: 10 });
    expect(limited.rowLength).toBe(10);
    const rest = await client.execute(`${query} LIMIT ?`, ['paged', 15], { ...PREPARED, fetchSize: 10, pageState: limited.pageState });
    expect([rest.rowLength, rest.pageState]).toEqual([5, null]);
  });

  it('runs logged and unlogged batches, and a conditional batch applied or not', async () => {
    const insert = 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?)';
    await client.batch([0, 1, 2].map((seq) => ({ query: insert, params: ['batch', seq, 'logged'] })), PREPARED);
    await client.batch([{ query: insert, params: ['batch', 3, 'unlogged'] }], { ...PREPARED, logged: false });
    expect((await client.execute('SELECT v FROM log WHERE p = ?', ['batch'], PREPARED)).rows.map((r) => r['v'])).toEqual(['logged', 'logged', 'logged', 'unlogged']);
    const lwt = [{ query: 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?) IF NOT EXISTS', params: ['lwt-batch', 1, 'a'] }, { query: insert, params: ['lwt-batch', 2, 'b'] }];
    expect((await client.batch(lwt, PREPARED)).first()['[applied]']).toBe(true);
    const again = (await client.batch(lwt, PREPARED)).first();
    expect([again['[applied]'], again['p'], Number(again['seq']), again['v']]).toEqual([false, 'lwt-batch', 1, 'a']);
    expect(cluster.log.findLast((e) => e.kind === 'batch')?.options).toMatchObject({ prepare: true, logged: true });
    // Query strings make the batch unprepared, which the cluster refuses for DML.
    await expectResponseError(client.batch([{ query: insert, params: ['batch', 9, 'x'] }], { prepare: false }), codes.invalid, 'without { prepare: true }');
  });

  it('answers lightweight transactions with [applied] and the current values, at the cluster’s timestamps', async () => {
    const insert = 'INSERT INTO kv (k, v) VALUES (?, ?) IF NOT EXISTS';
    expect(plain(await client.execute(insert, ['lwt', 'first'], PREPARED))).toEqual([{ '[applied]': true }]);
    expect((await client.execute(insert, ['lwt', 'second'], PREPARED)).first()).toMatchObject({ '[applied]': false, k: 'lwt', v: 'first' });
    expect(plain(await client.execute('UPDATE kv SET v = ? WHERE k = ? IF v = ?', ['third', 'lwt', 'nope'], PREPARED))).toEqual([{ '[applied]': false, v: 'first' }]);
    await expectResponseError(client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['lwt', 'x'], { ...PREPARED, consistency: types.consistencies.serial }), codes.invalid, 'conditional updates for serializable writes');
  });

  it('writes at the client’s timestamp, so an older write loses to a newer one whatever their order', async () => {
    const now = BigInt(Date.now()) * 1000n;
    await client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['ts', 'newer'], { ...PREPARED, timestamp: types.Long.fromString(now.toString()) });
    await client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['ts', 'older'], { ...PREPARED, timestamp: types.Long.fromString((now - 1000n).toString()) });
    expect((await client.execute('SELECT v FROM kv WHERE k = ?', ['ts'], PREPARED)).first()['v']).toBe('newer');
    expect(cluster.log.findLast((e) => e.query.startsWith('INSERT INTO kv'))?.options.timestamp).toBe(Number(now - 1000n));
  });

  it('sends the emulator’s refusals as a node’s errors', async () => {
    await expectResponseError(client.execute('SELEC v FROM kv'), codes.syntaxError, 'emulator: unsupported: SELEC statements');
    await expectResponseError(client.execute('SELEC v FROM kv', [], { prepare: false }), codes.syntaxError, 'emulator: unsupported: SELEC statements');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE k = ?', ['a'], { prepare: false }), codes.invalid, 'SELECT executed without { prepare: true }');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE v = ? ALLOW FILTERING', ['a'], PREPARED), codes.invalid, 'emulator: refused: ALLOW FILTERING');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE k = ?', [], PREPARED), codes.invalid, 'Invalid amount of bind variables: expected 1, got 0');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE k = :k', { k: 'a' }, { prepare: false }), codes.syntaxError, 'emulator: unsupported: named bind values');
  });

  it('delivers injected faults as the driver’s error classes, with their fields', async () => {
    const fault = (code: number, match: string, when: 'before' | 'after' = 'before') =>
      cluster.inject({ match: (q) => q.startsWith(match), error: () => new errors.ResponseError(code, 'injected'), when, times: 1 });
    fault(codes.writeTimeout, 'INSERT INTO kv', 'after');
    const timeout = await expectResponseError(client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['fault', 'landed'], PREPARED), codes.writeTimeout, 'Server timeout during write query at consistency LOCAL_QUORUM');
    expect(timeout).toMatchObject({ writeType: 'SIMPLE', received: 0, blockFor: 1 });
    expect((await client.execute('SELECT v FROM kv WHERE k = ?', ['fault'], PREPARED)).first()['v']).toBe('landed');
    fault(codes.writeTimeout, 'UPDATE kv');
    const cas = await expectResponseError(client.execute('UPDATE kv SET v = ? WHERE k = ? IF EXISTS', ['x', 'fault'], PREPARED), codes.writeTimeout, 'timeout');
    expect(cas).toMatchObject({ writeType: 'CAS' });
    fault(codes.readTimeout, 'SELECT v FROM kv');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE k = ?', ['fault'], PREPARED), codes.readTimeout, 'Server timeout during read query');
    // Unavailable: the driver's retry policy tries the next host, and there is none.
    fault(codes.unavailableException, 'SELECT v FROM kv');
    const unavailable = await rejection(client.execute('SELECT v FROM kv WHERE k = ?', ['fault'], PREPARED));
    expect(unavailable).toBeInstanceOf(errors.NoHostAvailableError);
    expect(Object.values((unavailable as errors.NoHostAvailableError).innerErrors)[0]).toMatchObject({ code: codes.unavailableException, required: 1, alive: 0 });
  });

  it('answers Unprepared for a statement the node forgot, and the driver prepares it again', async () => {
    const prepares = () => lines.filter((l) => l.msg === 'cql emulator: PREPARE' && l['query'] === 'SELECT v FROM kv WHERE k = ?').length;
    await client.execute('SELECT v FROM kv WHERE k = ?', ['a'], PREPARED);
    const before = prepares();
    expect(server.forgetPrepared()).toBeGreaterThan(0);
    expect((await client.execute('SELECT v FROM kv WHERE k = ?', ['types'], PREPARED)).first()['v']).toBe('text ✓');
    expect(prepares()).toBe(before + 1);
  });

  it('serves several clients and many concurrent requests at once', async () => {
    const others = await Promise.all([connect({ keyspace: 'ks' }), connect({ keyspace: 'ks' })]);
    const writers = [client, ...others];
    await Promise.all(writers.flatMap((c, w) => Array.from({ length: 100 }, (_, i) => c.execute('INSERT INTO log (p, seq, v) VALUES (?, ?, ?)', ['many', w * 1000 + i, 'x'], PREPARED))));
    const rows = await client.execute('SELECT seq FROM log WHERE p = ?', ['many'], { ...PREPARED, fetchSize: 1000 });
    expect(rows.rowLength).toBe(300);
  });

  it('pushes schema changes to connections that registered for them (the driver refreshes its metadata)', async () => {
    const other = await connect();
    await other.execute("CREATE KEYSPACE pushed WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await expect.poll(() => client.metadata.keyspaces['pushed'], { timeout: 5000 }).toBeDefined();
  });
});

describe('the CQL server, for a cluster that takes unprepared statements and warns on small batches', () => {
  it('validates unprepared values as raw bytes against their columns, as a node does, and flags batch warnings on the frame', async () => {
    const cluster = new EmulatedCluster({ requirePrepared: false, batchWarnBytes: 16 });
    await cluster.client().execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await cluster.client({ keyspace: 'ks' }).execute(TEST_TABLES[0] as string);
    const server = await startCqlServer({ cluster });
    const c = new Client({ contactPoints: [`127.0.0.1:${server.port}`], localDataCenter: 'datacenter1', keyspace: 'ks' });
    try {
      // The driver guesses a type for each unprepared value: text for a string (fine), double for a number (8 bytes: not an int).
      await c.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'text']);
      expect(cluster.log.at(-1)?.params).toEqual([Buffer.from('a'), Buffer.from('text')]);
      await expectResponseError(c.execute('INSERT INTO kv (k, i) VALUES (?, ?)', ['a', 5]), codes.invalid, 'Expected 4 or 0 byte int (8) for column i');
      const insert = 'INSERT INTO kv (k, v) VALUES (?, ?)';
      const result = await c.batch([{ query: insert, params: ['b', 'x'.repeat(20)] }, { query: insert, params: ['c', 'y'] }], { prepare: true, logged: false });
      expect(result.info.warnings).toEqual([expect.stringMatching(/^Unlogged batch modifying 2 partitions in ks\.kv is of size \d+ bytes, exceeding specified WARN threshold of 16/)]);
      expect(cluster.violations).toHaveLength(1);
    } finally {
      await c.shutdown();
      await server.close();
    }
  });
});
