import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_TABLE_CQL, applyMigrations, loadMigrations } from '../scylla-migrations.js';
import { EmulatedCluster } from './emulated-cluster.js';
import { expectResponseError, run, testCluster } from './fixtures.js';

const codes = types.responseErrorCodes;
const SIMPLE = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

describe('keyspaces', () => {
  it('creates, refuses a duplicate unless IF NOT EXISTS, drops', async () => {
    const client = new EmulatedCluster().client();
    await client.execute(`CREATE KEYSPACE k WITH replication = ${SIMPLE} AND durable_writes = true`);
    const err = await expectResponseError(client.execute(`CREATE KEYSPACE k WITH replication = ${SIMPLE}`), codes.alreadyExists, 'Keyspace k already exists');
    expect(err).toMatchObject({ keyspace: 'k' });
    await client.execute(`CREATE KEYSPACE IF NOT EXISTS k WITH replication = ${SIMPLE}`);
    await client.execute('DROP KEYSPACE k');
    await expectResponseError(client.execute('DROP KEYSPACE k'), codes.invalid, "Keyspace 'k' doesn't exist");
    await client.execute('DROP KEYSPACE IF EXISTS k');
  });

  it.each([
    ["{'replication_factor': 1}", 'Missing replication strategy class'],
    ["{'class': 'SimpleStrategy'}", 'SimpleStrategy requires a replication_factor'],
    ["{'class': 'NoSuchStrategy', 'replication_factor': 1}", 'Unable to find replication strategy class'],
    ["{'class': 'NetworkTopologyStrategy', 'dc1': 'three'}", 'Replication factor must be non-negative integer'],
  ])('refuses replication %s', async (map, message) => {
    await expectResponseError(new EmulatedCluster().client().execute(`CREATE KEYSPACE k WITH replication = ${map}`), codes.invalid, message);
  });

  it('accepts NetworkTopologyStrategy with data centres', async () => {
    const cluster = new EmulatedCluster();
    await cluster.client().execute("CREATE KEYSPACE k WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': '3'}");
    expect(cluster.schema.keyspaces.get('k')?.replication.get('dc2')).toBe('3');
  });
});

describe('tables', () => {
  it('creates every table of the migrations and the migrations table, idempotently', async () => {
    const cluster = new EmulatedCluster();
    await cluster.client().execute(`CREATE KEYSPACE chat WITH replication = ${SIMPLE}`);
    const client = cluster.client({ keyspace: 'chat' });
    expect(await applyMigrations(client.asClient(), loadMigrations())).toEqual([1]);
    expect(await applyMigrations(client.asClient(), loadMigrations())).toEqual([]);
    await client.execute(MIGRATIONS_TABLE_CQL);
    const messages = cluster.schema.table({ name: 'messages' }, 'chat');
    expect(messages.partitionKey.map((c) => c.name)).toEqual(['conversation_id', 'bucket']);
    expect(messages.clustering.map((c) => c.name)).toEqual(['seq']);
    expect(cluster.schema.table({ name: 'users_by_name' }, 'chat').clustering.map((c) => c.name)).toEqual(['name_lower', 'name', 'id']);
    expect(cluster.schema.table({ name: 'message_keys' }, 'chat').partitionKey.map((c) => c.name)).toEqual(['conversation_id', 'sender_id', 'client_msg_id']);
  });

  it('refuses an existing table without IF NOT EXISTS (alreadyExists), in any keyspace named', async () => {
    const { client } = await testCluster();
    const err = await expectResponseError(client.execute('CREATE TABLE ks.kv (k text PRIMARY KEY)'), codes.alreadyExists, 'Cannot add already existing table "kv" to keyspace "ks"');
    expect(err).toMatchObject({ keyspace: 'ks', table: 'kv' });
    await client.execute('CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY)');
  });

  it('names the unknown keyspace or table as a node does', async () => {
    const { cluster, client } = await testCluster();
    await expectResponseError(run(client, 'SELECT v FROM nope WHERE k = ?', ['a']), codes.invalid, /^unconfigured table nope$/);
    await expectResponseError(run(client, 'SELECT v FROM other.kv WHERE k = ?', ['a']), codes.invalid, /^Keyspace other does not exist$/);
    await expectResponseError(client.execute('CREATE TABLE other.t (k text PRIMARY KEY)'), codes.invalid, 'Keyspace other does not exist');
    await expectResponseError(run(cluster.client(), 'SELECT v FROM kv WHERE k = ?', ['a']), codes.invalid, /^No keyspace has been specified/);
    await expectResponseError(client.execute('DROP TABLE nope'), codes.invalid, "Table 'ks.nope' doesn't exist");
    await client.execute('DROP TABLE IF EXISTS nope');
  });

  it('returns SELECT * columns as partition key, clustering, then regular columns by name', async () => {
    const { client } = await testCluster();
    await client.execute('CREATE TABLE t (zeta text, alpha text, p text, c int, PRIMARY KEY (p, c))');
    const result = await run(client, 'SELECT * FROM t WHERE p = ?', ['x']);
    expect(result.columns.map((c) => c.name)).toEqual(['p', 'c', 'alpha', 'zeta']);
  });

  it('drops a table with its data: re-created, it is empty', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', '1']);
    await client.execute('DROP TABLE kv');
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ?', ['a']), codes.invalid, 'unconfigured table kv');
    await client.execute('CREATE TABLE kv (k text PRIMARY KEY, v text)');
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
  });

  it.each([
    ['CREATE TABLE t (k text, v text)', 'No PRIMARY KEY specified'],
    ['CREATE TABLE t (k text PRIMARY KEY, k int)', 'Multiple definition of identifier k'],
    ['CREATE TABLE t (k text, PRIMARY KEY (k, c))', 'Unknown definition c referenced in PRIMARY KEY'],
    ['CREATE TABLE t (k text, c int, PRIMARY KEY (k, c, k))', 'Multiple definition of identifier k in PRIMARY KEY'],
    ['CREATE TABLE t (k text, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (v ASC)', 'Only clustering key columns'],
    ['CREATE TABLE t (k text, a int, b int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (b ASC, a ASC)', 'must be the one of the clustering key'],
    ['CREATE TABLE t (k text, a int, b int, PRIMARY KEY (k, a, b)) WITH CLUSTERING ORDER BY (a DESC)', 'Missing CLUSTERING ORDER for column b'],
    ['CREATE TABLE "Bad-Name" (k text PRIMARY KEY)', 'Table name must not be empty'],
  ])('refuses %s', async (ddl, message) => {
    const { client } = await testCluster();
    await expectResponseError(client.execute(ddl), codes.invalid, message);
  });
});
