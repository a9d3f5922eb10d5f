import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import type { EmulatedClient } from './emulated-client.js';
import { expectResponseError, plain, run, testCluster } from './fixtures.js';

const codes = types.responseErrorCodes;

/** events partition ('p', 1): c1 in a, b; c2 in 1..3 (c2 is DESC). */
async function withEvents(): Promise<EmulatedClient> {
  const { client } = await testCluster();
  for (const c1 of ['b', 'a']) {
    for (const c2 of [2, 1, 3]) await run(client, 'INSERT INTO events (p, q, c1, c2, v) VALUES (?, ?, ?, ?, ?)', ['p', 1, c1, c2, `${c1}${c2}`]);
  }
  await run(client, 'INSERT INTO events (p, q, c1, c2, v) VALUES (?, ?, ?, ?, ?)', ['p', 2, 'a', 1, 'other partition']);
  return client;
}

const vs = (rows: Record<string, unknown>[]): unknown[] => rows.map((r) => r['v']);

describe('SELECT reads one slice of one partition', () => {
  it('returns rows in clustering order, honouring DESC columns', async () => {
    const client = await withEvents();
    expect(vs(plain(await run(client, 'SELECT v FROM events WHERE p = ? AND q = ?', ['p', 1])))).toEqual(['a3', 'a2', 'a1', 'b3', 'b2', 'b1']);
  });

  it('restricts an equality prefix then a range on the next clustering column, both bounds, inclusive or not', async () => {
    const client = await withEvents();
    const q = 'SELECT v FROM events WHERE p = ? AND q = ? AND c1 = ? AND c2 > ? AND c2 <= ?';
    expect(vs(plain(await run(client, q, ['p', 1, 'a', 1, 3])))).toEqual(['a3', 'a2']);
    expect(vs(plain(await run(client, 'SELECT v FROM events WHERE p = ? AND q = ? AND c1 >= ?', ['p', 1, 'b'])))).toEqual(['b3', 'b2', 'b1']);
    expect(vs(plain(await run(client, 'SELECT v FROM events WHERE p = ? AND q = ? AND c1 < ?', ['p', 1, 'b'])))).toEqual(['a3', 'a2', 'a1']);
  });

  it('orders numbers numerically and text by UTF-8 bytes', async () => {
    const { client } = await testCluster();
    for (const seq of [10, -1, 2]) await run(client, 'INSERT INTO log (p, seq) VALUES (?, ?)', ['n', seq]);
    expect(plain(await run(client, 'SELECT seq FROM log WHERE p = ?', ['n'])).map((r) => String(r['seq']))).toEqual(['-1', '2', '10']);
    await client.execute('CREATE TABLE words (p text, w text, PRIMARY KEY (p, w))');
    for (const w of ['é', 'z', 'Z', 'a']) await run(client, 'INSERT INTO words (p, w) VALUES (?, ?)', ['x', w]);
    expect(plain(await run(client, 'SELECT w FROM words WHERE p = ?', ['x'])).map((r) => r['w'])).toEqual(['Z', 'a', 'z', 'é']);
  });

  it('ORDER BY reverses the clustering order; LIMIT applies after ordering', async () => {
    const client = await withEvents();
    const q = 'SELECT v FROM events WHERE p = ? AND q = ? ORDER BY c1 DESC, c2 ASC LIMIT ?';
    expect(vs(plain(await run(client, q, ['p', 1, 4])))).toEqual(['b1', 'b2', 'b3', 'a1']);
    expect(vs(plain(await run(client, 'SELECT v FROM events WHERE p = ? AND q = ? ORDER BY c1 ASC LIMIT 2', ['p', 1])))).toEqual(['a3', 'a2']);
  });

  it('returns null for columns never written, and nothing for a missing partition or row', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'x']);
    expect(plain(await run(client, 'SELECT k, v, n, b FROM kv WHERE k = ?', ['a']))).toEqual([{ k: 'a', v: 'x', n: null, b: null }]);
    const none = await run(client, 'SELECT v FROM kv WHERE k = ?', ['missing']);
    expect(none.rows).toEqual([]);
    expect(none.first()).toBeNull();
    expect(none.pageState).toBeNull();
  });

  it('refuses LIMIT 0, a null LIMIT, and null or unset key values', async () => {
    const { client } = await testCluster();
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ? LIMIT ?', ['a', 0]), codes.invalid, 'LIMIT must be strictly positive');
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ? LIMIT ?', ['a', null]), codes.invalid, 'Invalid null value of limit');
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ?', [null]), codes.invalid, 'Invalid null value in condition for column k');
    await expectResponseError(run(client, 'SELECT v FROM kv WHERE k = ?', [undefined]), codes.invalid, 'Invalid unset value for column k');
    await expectResponseError(run(client, 'SELECT v FROM log WHERE p = ? AND seq > ?', ['a', null]), codes.invalid, 'Invalid null value in condition for column seq');
  });
});

describe('SELECT refusals (the store must never scan or filter)', () => {
  it.each([
    ['SELECT v FROM kv', [], /^emulator: refused: a SELECT on ks.kv without its partition key \(k\) restricted by =: a full table scan$/],
    ['SELECT v FROM events WHERE c1 = ?', ['a'], /refused: .*full table scan/],
    ['SELECT v FROM kv WHERE v = ?', ['x'], /^Cannot execute this query as it might involve data filtering/],
    ['SELECT v FROM kv WHERE k = ? AND v = ?', ['a', 'x'], /^Cannot execute this query as it might involve data filtering .*ALLOW FILTERING \(emulator: restriction on regular column v/],
    ['SELECT v FROM kv WHERE k = ? ALLOW FILTERING', ['a'], /^emulator: refused: ALLOW FILTERING/],
    ['SELECT v FROM events WHERE p = ?', ['p'], /^Partition key parts: q must be restricted as other parts are$/],
    ['SELECT v FROM kv WHERE k > ?', ['a'], /^Only EQ and IN relation are supported on the partition key/],
    ['SELECT v FROM kv WHERE k = ? AND k = ?', ['a', 'b'], /^k cannot be restricted by more than one relation if it includes an Equal$/],
    ['SELECT v FROM kv WHERE k != ?', ['a'], /^Unsupported "!=" relation/],
    ['SELECT v FROM events WHERE p = ? AND q = ? AND c2 = ?', ['p', 1, 1], /^PRIMARY KEY column "c2" cannot be restricted as preceding column "c1" is not restricted$/],
    ['SELECT v FROM events WHERE p = ? AND q = ? AND c1 > ? AND c2 = ?', ['p', 1, 'a', 1], /^Clustering column "c2" cannot be restricted \(preceding column "c1" is restricted by a non-EQ relation\)$/],
    ['SELECT v FROM events WHERE p = ? AND q = ? AND c1 > ? AND c1 >= ?', ['p', 1, 'a', 'b'], /^More than one restriction was found for the start bound on c1$/],
    ['SELECT v FROM events WHERE p = ? AND q = ? AND c1 = ? AND c1 < ?', ['p', 1, 'a', 'b'], /^c1 cannot be restricted by more than one relation/],
    ['SELECT nope FROM kv WHERE k = ?', ['a'], /^Undefined column name nope$/],
    ['SELECT v FROM kv WHERE nope = ?', ['a'], /^Undefined column name nope$/],
  ])('%s', async (query, params, message) => {
    const client = await withEvents();
    await expectResponseError(run(client, query, params), codes.invalid, message);
  });

  it.each([
    ['SELECT v FROM events WHERE c1 = ? ORDER BY c1 DESC', ['a'], /^ORDER BY is only supported when the partition key is restricted by an EQ or an IN\.$/],
    ['SELECT v FROM events WHERE p = ? AND q = ? ORDER BY v DESC', ['p', 1], /^Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v$/],
    ['SELECT v FROM events WHERE p = ? AND q = ? ORDER BY c2 DESC', ['p', 1], /^Order by currently only supports the ordering of columns following their declared order/],
    ['SELECT v FROM events WHERE p = ? AND q = ? ORDER BY c1 DESC, c2 DESC', ['p', 1], /^Unsupported order by relation$/],
  ])('bad ORDER BY: %s', async (query, params, message) => {
    const client = await withEvents();
    await expectResponseError(run(client, query, params), codes.invalid, message);
  });
});

describe('paging', () => {
  async function numbered(count: number): Promise<EmulatedClient> {
    const { client } = await testCluster();
    for (let seq = 1; seq <= count; seq++) await run(client, 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?)', ['p', seq, `m${seq}`]);
    return client;
  }

  async function pages(client: EmulatedClient, query: string, params: unknown[], fetchSize: number): Promise<string[][]> {
    const out: string[][] = [];
    let pageState: string | undefined;
    do {
      const result = await run(client, query, params, { fetchSize, pageState });
      out.push(plain(result).map((r) => r['v'] as string));
      pageState = result.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  it('cuts results into fetchSize pages with a pageState while rows remain', async () => {
    const client = await numbered(5);
    expect(await pages(client, 'SELECT v FROM log WHERE p = ?', ['p'], 2)).toEqual([['m1', 'm2'], ['m3', 'm4'], ['m5']]);
    expect(await pages(client, 'SELECT v FROM log WHERE p = ?', ['p'], 5)).toEqual([['m1', 'm2', 'm3', 'm4', 'm5']]);
    expect(await pages(client, 'SELECT v FROM log WHERE p = ? ORDER BY seq DESC', ['p'], 3)).toEqual([['m5', 'm4', 'm3'], ['m2', 'm1']]);
  });

  it('applies LIMIT before paging', async () => {
    const client = await numbered(5);
    expect(await pages(client, 'SELECT v FROM log WHERE p = ? LIMIT 3', ['p'], 2)).toEqual([['m1', 'm2'], ['m3']]);
    expect(await pages(client, 'SELECT v FROM log WHERE p = ? LIMIT 4', ['p'], 2)).toEqual([['m1', 'm2'], ['m3', 'm4']]);
  });

  it('pages 5000 rows at a time by default, like the driver', async () => {
    const client = await numbered(5001);
    const first = await run(client, 'SELECT v FROM log WHERE p = ?', ['p']);
    expect(first.rowLength).toBe(5000);
    expect(first.pageState).toMatch(/^[0-9a-f]+$/);
    const second = await run(client, 'SELECT v FROM log WHERE p = ?', ['p'], { pageState: first.pageState });
    expect(plain(second)).toEqual([{ v: 'm5001' }]);
    expect(second.pageState).toBeNull();
  }, 30_000);

  it('resumes after the last row returned, even if rows were written in between', async () => {
    const client = await numbered(4);
    const first = await run(client, 'SELECT v FROM log WHERE p = ?', ['p'], { fetchSize: 2 });
    await run(client, 'INSERT INTO log (p, seq, v) VALUES (?, ?, ?)', ['p', 0, 'm0']);
    await run(client, 'DELETE FROM log WHERE p = ? AND seq = ?', ['p', 3]);
    const second = await run(client, 'SELECT v FROM log WHERE p = ?', ['p'], { fetchSize: 2, pageState: first.pageState });
    expect(plain(second).map((r) => r['v'])).toEqual(['m4']);
  });

  it('refuses a paging state it did not produce', async () => {
    const client = await numbered(1);
    await expectResponseError(run(client, 'SELECT v FROM log WHERE p = ?', ['p'], { pageState: 'zz' }), codes.protocolError, 'Invalid value for the paging state');
    await expectResponseError(run(client, 'SELECT v FROM log WHERE p = ?', ['p'], { pageState: 'abcd' }), codes.protocolError, 'Invalid value for the paging state');
  });
});
