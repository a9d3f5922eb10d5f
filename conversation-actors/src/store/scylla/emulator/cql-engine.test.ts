import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { CQL } from '../scylla-cql.js';
import { PREPARED, expectResponseError, plain, rejection, run, storeCluster, testCluster } from './fixtures.js';

const codes = types.responseErrorCodes;
const put = (k: string, v: string) => ({ query: 'INSERT INTO kv (k, v) VALUES (?, ?)', params: [k, v] });

describe('batches', () => {
  it('share one write timestamp: a DELETE and an INSERT of one row in one batch leave it deleted', async () => {
    const { client } = await testCluster();
    await client.batch([{ query: 'DELETE FROM kv WHERE k = ?', params: ['a'] }, put('a', 'x')], PREPARED);
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
    // The same two statements one after the other: the insert is newer and wins.
    await run(client, 'DELETE FROM kv WHERE k = ?', ['a']);
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'x']);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'x' }]);
  });

  it('share one write timestamp: two writes of one cell keep the greater value, not the last', async () => {
    const { client } = await testCluster();
    await client.batch([put('a', 'z'), put('a', 'b')], PREPARED);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'z' }]);
  });

  it('take the client timestamp when one is given', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'newer'], { timestamp: 50 });
    await client.batch([put('a', 'older'), put('b', 'older')], { ...PREPARED, timestamp: 40 });
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'newer' }]);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['b']))).toEqual([{ v: 'older' }]);
  });

  it('with conditions: one partition of one table only', async () => {
    const { client } = await testCluster();
    const lwt = { query: 'INSERT INTO kv (k, v) VALUES (?, ?) IF NOT EXISTS', params: ['a', 'x'] };
    await expectResponseError(client.batch([lwt, put('b', 'y')], PREPARED), codes.invalid, 'Batch with conditions cannot span multiple partitions');
    const other = { query: 'INSERT INTO log (p, seq) VALUES (?, ?)', params: ['a', 1] };
    await expectResponseError(client.batch([lwt, other], PREPARED), codes.invalid, 'Batch with conditions cannot span multiple tables');
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
  });

  it('with conditions: all or nothing, one [applied] answer', async () => {
    const { client } = await testCluster();
    const row = (c2: number, v: string) => ({ query: 'INSERT INTO events (p, q, c1, c2, v) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS', params: ['p', 1, 'a', c2, v] });
    const first = await client.batch([row(1, 'one'), row(2, 'two')], PREPARED);
    expect(plain(first)).toEqual([{ '[applied]': true }]);
    const second = await client.batch([row(3, 'three'), row(2, 'again')], PREPARED);
    expect(second.wasApplied()).toBe(false);
    // Not applied: the existing rows that refused it, with their primary keys.
    expect(plain(second)).toEqual([{ '[applied]': false, p: 'p', q: 1, c1: 'a', c2: types.Long.fromNumber(2), v: 'two', w: null }]);
    const values = plain(await run(client, 'SELECT v FROM events WHERE p = ? AND q = ?', ['p', 1])).map((r) => r['v']);
    expect(values).toEqual(['two', 'one']);
  });

  it('with conditions, ScyllaDB shape: one row per conditional statement, with the row before', async () => {
    const { client } = await testCluster({ lwtResults: 'scylla' });
    await run(client, 'INSERT INTO kv (k, v, n) VALUES (?, ?, ?)', ['a', 'x', 1]);
    const result = await client.batch(
      [
        { query: 'UPDATE kv SET v = ? WHERE k = ? IF n = ?', params: ['y', 'a', 1] },
        { query: 'UPDATE kv SET b = ? WHERE k = ? IF v = ?', params: [true, 'a', 'x'] },
      ],
      PREPARED,
    );
    expect(plain(result)).toEqual([
      { '[applied]': true, n: types.Long.fromNumber(1), v: 'x' },
      { '[applied]': true, n: types.Long.fromNumber(1), v: 'x' },
    ]);
  });

  it('over 1 MiB across partitions fail ("Batch too large") and write nothing', async () => {
    const { client } = await testCluster();
    const big = 'x'.repeat(300 * 1024);
    const err = await expectResponseError(client.batch([put('a', big), put('b', big), put('c', big), put('d', big)], PREPARED), codes.invalid, /^Batch too large/);
    expect(err.message).toMatch(/Logged batch modifying 4 partitions in ks.kv is of size \d+ bytes, exceeding specified FAIL threshold of 1048576/);
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
  });

  it('over 128 KiB across partitions warn (info.warnings) and record a violation; one partition is never measured', async () => {
    const { cluster, client } = await testCluster();
    const big = 'x'.repeat(70 * 1024);
    const warned = await client.batch([put('a', big), put('b', big)], PREPARED);
    expect(warned.info.warnings).toEqual([expect.stringMatching(/^Logged batch modifying 2 partitions in ks.kv is of size \d+ bytes, exceeding specified WARN threshold of 131072/)]);
    expect(cluster.violations).toEqual(warned.info.warnings);
    const rows = Array.from({ length: 20 }, (_, i) => ({ query: 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?)', params: ['p', i, big] }));
    const quiet = await client.batch(rows, PREPARED);
    expect(quiet.info.warnings).toBeNull();
    expect(cluster.violations).toHaveLength(1);
  });

  it('take only INSERT, UPDATE and DELETE, and the driver refuses an empty or malformed one', async () => {
    const { client } = await testCluster();
    await expectResponseError(client.batch(['SELECT v FROM kv WHERE k = 1'], PREPARED), codes.invalid, 'only UPDATE, INSERT and DELETE statements are allowed');
    expect(await rejection(client.batch([], PREPARED))).toBeInstanceOf(errors.ArgumentError);
    expect(await rejection(client.batch([{ nope: 1 } as never], PREPARED))).toBeInstanceOf(errors.ArgumentError);
    await client.batch(["INSERT INTO kv (k, v) VALUES ('s', 'literal')"], PREPARED);
    expect(plain(await run(client, "SELECT v FROM kv WHERE k = 's'"))).toEqual([{ v: 'literal' }]);
  });
});

describe('data-modelling violations', () => {
  it('records a partition written both by LWTs and by plain writes, once; LWT-only and plain-only partitions are fine', async () => {
    const { cluster, client } = await storeCluster();
    await run(client, CQL.createHead, ['c1', 'dm', types.unset, 1, 1, 1, '[]']);
    await run(client, CQL.claimSeqs, [1, 2, 1, 'c1', 0, 1]);
    await run(client, CQL.putMember, ['c1', 'u1', 'member', 1]);
    expect(cluster.violations).toEqual([]);
    await run(client, 'UPDATE conversations SET title = ? WHERE id = ?', ['plain', 'c1']);
    await run(client, 'UPDATE conversations SET title = ? WHERE id = ?', ['again', 'c1']);
    expect(cluster.violations).toEqual([expect.stringMatching(/^partition chat.conversations\(id="c1"\) is written both by lightweight transactions and by plain writes/)]);
  });

  it('counts a refused LWT as LWT use of its partition', async () => {
    const { cluster, client } = await testCluster();
    await run(client, 'UPDATE kv SET v = ? WHERE k = ? IF EXISTS', ['x', 'a']);
    await client.batch([put('a', 'x'), put('b', 'y')], PREPARED);
    expect(cluster.violations).toEqual([expect.stringMatching(/partition ks.kv\(k="a"\) is written both/)]);
  });

  it('records a partition growing past maxPartitionRows', async () => {
    const { cluster, client } = await testCluster({ maxPartitionRows: 3 });
    for (let seq = 0; seq < 5; seq++) await run(client, 'INSERT INTO log (p, seq) VALUES (?, ?)', ['p', seq]);
    expect(cluster.violations).toEqual([expect.stringMatching(/^partition ks.log\(p="p"\) holds more than maxPartitionRows \(3\) rows/)]);
  });
});
