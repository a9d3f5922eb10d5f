import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { InternalError, StoreUnavailableError } from '../../../errors.js';
import { toStoreError } from '../scylla-errors.js';
import { EmulatedCluster } from './emulated-cluster.js';
import { PREPARED, expectResponseError, plain, rejection, run, testCluster } from './fixtures.js';

const codes = types.responseErrorCodes;
const writeTimeout = (): Error => new errors.ResponseError(codes.writeTimeout, 'Operation timed out - received only 0 responses.');
const driverTypes = types as unknown as { ResultSet: abstract new () => unknown; Row: abstract new () => unknown };

describe('values cross the driver’s Encoder both ways', () => {
  it('returns what the driver returns: Long, number, Date, boolean, string, Buffer, Uuid, TimeUuid, null', async () => {
    const { client } = await testCluster();
    const uuid = types.Uuid.random();
    const timeuuid = types.TimeUuid.now();
    const when = new Date(1_700_000_000_123);
    await run(client, 'INSERT INTO kv (k, v, n, i, b, t, d, x, u, tu, a) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      'a',
      'text ✓',
      types.Long.fromString('9007199254740993'),
      -42,
      false,
      when,
      2.5,
      Buffer.from([1, 2]),
      uuid,
      timeuuid,
      'ascii',
    ]);
    const row = (await run(client, 'SELECT * FROM kv WHERE k = ?', ['a'])).first();
    expect(row['n']).toBeInstanceOf(types.Long);
    expect(row['n'].toString()).toBe('9007199254740993');
    expect(row['i']).toBe(-42);
    expect(row['t']).toEqual(when);
    expect(row['b']).toBe(false);
    expect(row['v']).toBe('text ✓');
    expect(row['d']).toBe(2.5);
    expect(row['x']).toEqual(Buffer.from([1, 2]));
    expect(row['u']).toBeInstanceOf(types.Uuid);
    expect(row['u'].toString()).toBe(uuid.toString());
    expect(row['tu']).toBeInstanceOf(types.TimeUuid);
    expect(row['a']).toBe('ascii');
  });

  it('encodes JS numbers for bigint and timestamp columns as the driver does (Long, Date)', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, n, t) VALUES (?, ?, ?)', ['a', 1234, 5000]);
    expect(plain(await run(client, 'SELECT n, t FROM kv WHERE k = ?', ['a']))).toEqual([{ n: types.Long.fromNumber(1234), t: new Date(5000) }]);
  });

  it('lets the driver’s own errors through for values it cannot encode', async () => {
    const { client } = await testCluster();
    const notText = await rejection(run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 5]));
    expect(notText).toBeInstanceOf(TypeError);
    expect((notText as Error).message).toMatch(/Not a valid text value/);
    expect(await rejection(run(client, 'INSERT INTO kv (k, i) VALUES (?, ?)', ['a', 2 ** 31]))).toBeInstanceOf(RangeError);
  });

  it('refuses a wrong amount of parameters (invalid) and named parameters (ArgumentError)', async () => {
    const { client } = await testCluster();
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ?', []), codes.invalid, 'Invalid amount of bind variables: expected 1, got 0');
    await expectResponseError(client.execute('SELECT v FROM kv WHERE k = ?', undefined, PREPARED), codes.invalid, 'expected 1, got 0');
    expect(await rejection(client.execute('SELECT v FROM kv WHERE k = ?', { k: 'a' } as never, PREPARED))).toBeInstanceOf(errors.ArgumentError);
  });
});

describe('results', () => {
  it('are the driver’s ResultSet and Row classes, with columns, rowLength, pageState and info', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'x']);
    const result = await run(client, 'SELECT k, v FROM kv WHERE k = ?', ['a']);
    expect(result).toBeInstanceOf(driverTypes.ResultSet);
    expect(result.rows[0]).toBeInstanceOf(driverTypes.Row);
    expect(result.first()?.get('v')).toBe('x');
    expect(result.columns).toEqual([
      { name: 'k', type: { code: types.dataTypes.text, info: null } },
      { name: 'v', type: { code: types.dataTypes.text, info: null } },
    ]);
    expect(result.rowLength).toBe(1);
    expect(result.pageState).toBeNull();
    expect(result.info.warnings).toBeNull();
    const write = await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['b', 'y']);
    expect(write.rows).toBeUndefined();
    expect(write.first()).toBeNull();
    expect(write.wasApplied()).toBe(true);
  });

  it('resolve asynchronously, after the caller’s own continuations', async () => {
    const { client } = await testCluster();
    let done = false;
    const pending = run(client, 'SELECT v FROM kv WHERE k = ?', ['a']).then(() => {
      done = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toBe(false);
    await pending;
    expect(done).toBe(true);
  });
});

describe('prepared statements', () => {
  it('are required for DML and SELECT by default, not for DDL', async () => {
    const { client } = await testCluster();
    const unprepared = await rejection(client.execute('SELECT v FROM kv WHERE k = ?', ['a']));
    expect(unprepared).toBeInstanceOf(Error);
    expect((unprepared as Error).message).toMatch(/SELECT executed without \{ prepare: true \}/);
    expect(((await rejection(client.batch([{ query: 'INSERT INTO kv (k) VALUES (?)', params: ['a'] }]))) as Error).message).toMatch(/INSERT executed without/);
    await client.execute('CREATE TABLE IF NOT EXISTS extra (k text PRIMARY KEY)');
  });

  it('when not required, unprepared values are typed by guessing, and the node validates the bytes', async () => {
    const { client } = await testCluster({ requirePrepared: false });
    await client.execute('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'x']);
    expect(plain(await client.execute('SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'x' }]);
    // A JS number is sent as a double: 8 bytes an int column refuses...
    await expectResponseError(client.execute('INSERT INTO kv (k, i) VALUES (?, ?)', ['a', 1]), codes.invalid, 'Expected 4 or 0 byte int (8)');
    // ...and a bigint column accepts as the bits of a double: the classic unprepared-statement bug, reproduced.
    await client.execute('INSERT INTO kv (k, n) VALUES (?, ?)', ['a', 1]);
    expect(plain(await client.execute('SELECT n FROM kv WHERE k = ?', ['a']))).toEqual([{ n: types.Long.fromString('4607182418800017408') }]);
  });
});

describe('the log', () => {
  it('records every request with its kind, parameters, options and LWT flag, refused ones with their error', async () => {
    const { cluster, client } = await testCluster({ logLimit: 4 });
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?) IF NOT EXISTS', ['a', 'x']);
    await client.batch([{ query: 'UPDATE kv SET v = ? WHERE k = ?', params: ['y', 'a'] }, 'DELETE FROM kv WHERE k = \'b\''], { ...PREPARED, logged: false });
    await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']);
    await rejection(run(client, 'SELECT v FROM kv'));
    expect(cluster.log).toHaveLength(4);
    expect(cluster.log.map(({ kind, lwt }) => ({ kind, lwt }))).toEqual([
      { kind: 'insert', lwt: true },
      { kind: 'batch', lwt: false },
      { kind: 'select', lwt: false },
      { kind: 'select', lwt: false },
    ]);
    expect(cluster.log[1]).toMatchObject({
      query: "UPDATE kv SET v = ? WHERE k = ?; DELETE FROM kv WHERE k = 'b'",
      params: [['y', 'a'], []],
      options: { prepare: true, logged: false },
    });
    expect(cluster.log[2]?.error).toBeUndefined();
    expect(cluster.log[3]?.error?.message).toMatch(/full table scan/);
  });
});

describe('fault injection', () => {
  const claim = 'UPDATE kv SET v = ? WHERE k = ?';

  it("'before' fails the request without applying it", async () => {
    const { cluster, client } = await testCluster();
    const fault = cluster.inject({ match: (q) => q === claim, error: writeTimeout, when: 'before' });
    const err = await rejection(run(client, claim, ['x', 'a']));
    expect(err).toBeInstanceOf(errors.ResponseError);
    expect((err as errors.ResponseError).code).toBe(codes.writeTimeout);
    expect(toStoreError(err, 'write')).toBeInstanceOf(StoreUnavailableError);
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
    expect(fault.hits).toBe(1);
    fault.remove();
    await run(client, claim, ['x', 'a']);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'x' }]);
  });

  it("'after' applies the request, then fails it (a timeout whose write landed)", async () => {
    const { cluster, client } = await testCluster();
    cluster.inject({ match: (_q, params) => params[1] === 'a', error: writeTimeout, when: 'after', times: 1 });
    await rejection(run(client, claim, ['x', 'a']));
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'x' }]);
    // times: 1 — the next matching request goes through.
    await run(client, claim, ['y', 'a']);
  });

  it('applies to a whole batch when any of its statements matches', async () => {
    const { cluster, client } = await testCluster();
    cluster.inject({ match: (_q, params) => params[0] === 'b', error: writeTimeout, when: 'before' });
    const batch = [
      { query: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: ['a', 'x'] },
      { query: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: ['b', 'y'] },
    ];
    await rejection(client.batch(batch, PREPARED));
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
  });
});

describe('reachability and clients', () => {
  it('rejects every request and connect with NoHostAvailableError while unreachable', async () => {
    const { cluster, client } = await testCluster();
    cluster.setReachable(false);
    const err = await rejection(run(client, 'SELECT v FROM kv WHERE k = ?', ['a']));
    expect(err).toBeInstanceOf(errors.NoHostAvailableError);
    expect(toStoreError(err, 'read')).toBeInstanceOf(StoreUnavailableError);
    expect(await rejection(client.batch(['INSERT INTO kv (k) VALUES (\'a\')'], PREPARED))).toBeInstanceOf(errors.NoHostAvailableError);
    expect(await rejection(cluster.client({ keyspace: 'ks' }).connect())).toBeInstanceOf(errors.NoHostAvailableError);
    cluster.setReachable(true);
    await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']);
  });

  it('shares one cluster between clients: a client shut down refuses, a new one sees the data', async () => {
    const { cluster, client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'kept']);
    await client.shutdown();
    const err = await rejection(run(client, 'SELECT v FROM kv WHERE k = ?', ['a']));
    expect(err).toBeInstanceOf(errors.NoHostAvailableError);
    expect((err as Error).message).toBe('Connecting after shutdown is not supported');
    const reopened = cluster.client({ keyspace: 'ks' });
    await reopened.connect();
    expect(plain(await run(reopened, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'kept' }]);
  });

  it('stamps plain writes with the client host’s clock: a host running ahead wins over later writes', async () => {
    const { cluster, client } = await testCluster();
    const ahead = cluster.client({ keyspace: 'ks', clockSkewMs: 5000 });
    await run(ahead, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'from the host ahead']);
    await run(client, 'UPDATE kv SET v = ? WHERE k = ?', ['later, but stamped earlier', 'a']);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'from the host ahead' }]);
    // A lightweight transaction takes the cluster's (Paxos) timestamp, whoever sends it.
    await run(ahead, 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?) IF NOT EXISTS', ['p', 1, 'lwt']);
    await run(client, 'UPDATE log SET v = ? WHERE p = ? AND seq = ? IF EXISTS', ['lwt later', 'p', 1]);
    expect(plain(await run(client, 'SELECT v FROM log WHERE p = ?', ['p']))).toEqual([{ v: 'lwt later' }]);
  });

  it('refuses to connect to a keyspace that does not exist, and connects once it does', async () => {
    const cluster = new EmulatedCluster();
    const client = cluster.client({ keyspace: 'later' });
    const err = await expectResponseError(client.connect(), codes.invalid, "Keyspace 'later' does not exist");
    expect(toStoreError(err, 'open')).toBeInstanceOf(InternalError);
    await cluster.client().execute("CREATE KEYSPACE later WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    await client.connect();
    expect(client.keyspace).toBe('later');
  });
});
