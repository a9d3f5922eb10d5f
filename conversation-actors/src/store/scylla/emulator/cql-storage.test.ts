import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { reconcile } from './cql-storage.js';
import { plain, run, testCluster } from './fixtures.js';

const b = (s: string): Buffer => Buffer.from(s);

describe('reconcile (one cell)', () => {
  it('keeps the higher timestamp whatever the arrival order', () => {
    expect(reconcile({ ts: 2, value: b('old') }, { ts: 1, value: b('zzz') })).toEqual({ ts: 2, value: b('old') });
    expect(reconcile({ ts: 1, value: b('zzz') }, { ts: 2, value: b('old') })).toEqual({ ts: 2, value: b('old') });
  });

  it('at equal timestamps: a tombstone beats a live value, the greater bytes win between live values', () => {
    expect(reconcile({ ts: 5, value: b('a') }, { ts: 5, value: null }).value).toBeNull();
    expect(reconcile({ ts: 5, value: null }, { ts: 5, value: b('a') }).value).toBeNull();
    expect(reconcile({ ts: 5, value: b('a') }, { ts: 5, value: b('b') }).value).toEqual(b('b'));
    expect(reconcile({ ts: 5, value: b('b') }, { ts: 5, value: b('a') }).value).toEqual(b('b'));
    // Unsigned byte order: 0xff > 0x01.
    expect(reconcile({ ts: 5, value: Buffer.from([0x01]) }, { ts: 5, value: Buffer.from([0xff]) }).value).toEqual(Buffer.from([0xff]));
  });
});

describe('writes reconciled by timestamp (client timestamps via options.timestamp)', () => {
  const at = (timestamp: number) => ({ timestamp });

  it('an older write arriving later loses', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'new'], at(20));
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'old'], at(10));
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'new' }]);
  });

  it('at equal timestamps a null (cell tombstone) wins over a value, and the greater value wins over a smaller one', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v, a) VALUES (?, ?, ?)', ['a', 'x', 'm'], at(10));
    await run(client, 'UPDATE kv SET v = ?, a = ? WHERE k = ?', [null, 'b', 'a'], at(10));
    expect(plain(await run(client, 'SELECT v, a FROM kv WHERE k = ?', ['a']))).toEqual([{ v: null, a: 'm' }]);
  });

  it('a row tombstone shadows the row’s cells and marker at or below its timestamp, not above', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v, a) VALUES (?, ?, ?)', ['a', 'x', 'y'], at(10));
    await run(client, 'DELETE FROM kv WHERE k = ?', ['a'], at(10));
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'back'], at(11));
    // `a` was written at 10, under the tombstone: it does not come back.
    expect(plain(await run(client, 'SELECT v, a FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'back', a: null }]);
  });

  it('an UPDATE writes no row marker: nulling its only cell makes the row vanish; an INSERTed row stays', async () => {
    const { client } = await testCluster();
    await run(client, 'UPDATE kv SET v = ? WHERE k = ?', ['x', 'updated']);
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['inserted', 'x']);
    expect(plain(await run(client, 'SELECT k, v FROM kv WHERE k = ?', ['updated']))).toEqual([{ k: 'updated', v: 'x' }]);
    await run(client, 'UPDATE kv SET v = ? WHERE k = ?', [null, 'updated']);
    await run(client, 'UPDATE kv SET v = ? WHERE k = ?', [null, 'inserted']);
    expect((await run(client, 'SELECT k FROM kv WHERE k = ?', ['updated'])).rows).toEqual([]);
    expect(plain(await run(client, 'SELECT k, v FROM kv WHERE k = ?', ['inserted']))).toEqual([{ k: 'inserted', v: null }]);
  });

  it('DELETE of a column writes a cell tombstone; the marked row stays', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v, a) VALUES (?, ?, ?)', ['a', 'x', 'y']);
    await run(client, 'DELETE v FROM kv WHERE k = ?', ['a']);
    expect(plain(await run(client, 'SELECT v, a FROM kv WHERE k = ?', ['a']))).toEqual([{ v: null, a: 'y' }]);
  });

  it('an unset parameter leaves the column as it was; null overwrites it', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v, a) VALUES (?, ?, ?)', ['a', 'x', 'y']);
    await run(client, 'INSERT INTO kv (k, v, a) VALUES (?, ?, ?)', ['a', undefined, null]);
    await run(client, 'UPDATE kv SET a = ?, v = ? WHERE k = ?', ['z', types.unset, 'b']);
    expect(plain(await run(client, 'SELECT v, a FROM kv WHERE k = ?', ['a']))).toEqual([{ v: 'x', a: null }]);
    expect(plain(await run(client, 'SELECT v, a FROM kv WHERE k = ?', ['b']))).toEqual([{ v: null, a: 'z' }]);
  });

  it('a partition tombstone removes every row; a clustering-prefix tombstone only the rows under that prefix', async () => {
    const { client } = await testCluster();
    const put = (c1: string, c2: number, ts: number) => run(client, 'INSERT INTO events (p, q, c1, c2, v) VALUES (?, ?, ?, ?, ?)', ['p', 1, c1, c2, `${c1}${c2}`], at(ts));
    await put('a', 1, 10);
    await put('a', 2, 10);
    await put('b', 1, 10);
    const read = async () => plain(await run(client, 'SELECT c1, c2 FROM events WHERE p = ? AND q = ?', ['p', 1])).map((r) => `${r['c1']}${String(r['c2'])}`);
    await run(client, 'DELETE FROM events WHERE p = ? AND q = ? AND c1 = ?', ['p', 1, 'a'], at(11));
    expect(await read()).toEqual(['b1']);
    await put('a', 3, 12);
    expect(await read()).toEqual(['a3', 'b1']);
    await run(client, 'DELETE FROM events WHERE p = ? AND q = ?', ['p', 1], at(20));
    expect(await read()).toEqual([]);
    await put('c', 1, 21);
    expect(await read()).toEqual(['c1']);
  });

  it('without client timestamps, later statements win (the cluster clock only moves forward)', async () => {
    const { cluster, client } = await testCluster();
    const t1 = cluster.now();
    for (let i = 0; i < 50; i++) await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', String(49 - i)]);
    expect(plain(await run(client, 'SELECT v FROM kv WHERE k = ?', ['a']))).toEqual([{ v: '0' }]);
    expect(cluster.now()).toBeGreaterThan(t1 + 50);
  });
});
