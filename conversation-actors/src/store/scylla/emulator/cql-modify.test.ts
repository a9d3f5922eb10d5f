import { types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { CQL } from '../scylla-cql.js';
import type { EmulatedClient } from './emulated-client.js';
import { expectResponseError, plain, run, storeCluster, testCluster } from './fixtures.js';

const codes = types.responseErrorCodes;
const L = (n: number): types.Long => types.Long.fromNumber(n);

/** createHead's parameters: id, kind, title, created_at, last_activity_at, epoch, founders (last_seq and change_seq are literal 0s). */
const head = (id: string, epoch = 1): unknown[] => [id, 'group', types.unset, 100, 100, epoch, '[]'];

async function headOf(client: EmulatedClient, id: string): Promise<Record<string, unknown> | undefined> {
  return plain(await run(client, CQL.getHead, [id]))[0];
}

describe('lightweight transactions (Cassandra result shape)', () => {
  it('INSERT IF NOT EXISTS: applied is [applied] only; not applied returns the existing row, every column', async () => {
    const { client } = await storeCluster();
    const created = await run(client, CQL.createHead, head('c1'));
    expect(created.columns.map((c) => c.name)).toEqual(['[applied]']);
    expect(plain(created)).toEqual([{ '[applied]': true }]);
    const again = await run(client, CQL.createHead, head('c1', 7));
    expect(again.columns.map((c) => c.name)).toEqual(['[applied]', 'id', 'change_seq', 'created_at', 'epoch', 'founders', 'kind', 'last_activity_at', 'last_seq', 'title']);
    expect(plain(again)).toEqual([
      { '[applied]': false, id: 'c1', change_seq: L(0), created_at: L(100), epoch: L(1), founders: '[]', kind: 'group', last_activity_at: L(100), last_seq: L(0), title: null },
    ]);
    expect(again.wasApplied()).toBe(false);
  });

  it('UPDATE IF conditions: applied when they hold, with = and <= on the stored values', async () => {
    const { client } = await storeCluster();
    await run(client, CQL.createHead, head('c1', 2));
    // last_seq = 0 AND epoch (2) <= 2: applies.
    expect(plain(await run(client, CQL.claimSeqs, [3, 200, 2, 'c1', 0, 2]))).toEqual([{ '[applied]': true }]);
    expect(await headOf(client, 'c1')).toMatchObject({ last_seq: L(3), last_activity_at: L(200), epoch: L(2) });
    // epoch (2) <= 5: applies and raises the epoch.
    expect(plain(await run(client, CQL.claimSeqs, [4, 300, 5, 'c1', 3, 5]))).toEqual([{ '[applied]': true }]);
  });

  it('UPDATE IF conditions not applied: the current values of the condition columns, in IF order', async () => {
    const { client } = await storeCluster();
    await run(client, CQL.createHead, head('c1', 5));
    const stale = await run(client, CQL.claimSeqs, [3, 200, 4, 'c1', 0, 4]);
    expect(stale.columns.map((c) => c.name)).toEqual(['[applied]', 'last_seq', 'epoch']);
    expect(plain(stale)).toEqual([{ '[applied]': false, last_seq: L(0), epoch: L(5) }]);
    const conflict = await run(client, CQL.claimSeqs, [3, 200, 5, 'c1', 9, 5]);
    expect(plain(conflict)).toEqual([{ '[applied]': false, last_seq: L(0), epoch: L(5) }]);
    expect(await headOf(client, 'c1')).toMatchObject({ last_seq: L(0), epoch: L(5) });
  });

  it('a conditional UPDATE of a missing row answers [applied]: false alone and writes nothing', async () => {
    const { client } = await storeCluster();
    const result = await run(client, CQL.raiseChange, [2, 1, 'nope', 2, 1]);
    expect(result.columns.map((c) => c.name)).toEqual(['[applied]']);
    expect(plain(result)).toEqual([{ '[applied]': false }]);
    expect(await headOf(client, 'nope')).toBeUndefined();
  });

  it('compares with a missing value: = null holds, != x holds, <, <=, >, >= and = x do not', async () => {
    const { client } = await testCluster();
    await run(client, 'INSERT INTO kv (k) VALUES (?)', ['a']);
    const applied = async (condition: string, value: unknown) => (await run(client, `UPDATE kv SET v = ? WHERE k = ? IF ${condition}`, ['set', 'a', value])).wasApplied();
    expect(await applied('n = ?', null)).toBe(true);
    expect(await applied('n != ?', L(1))).toBe(true);
    for (const op of ['=', '<', '<=', '>', '>=']) expect(await applied(`n ${op} ?`, L(1))).toBe(false);
    expect(await applied('n != ?', null)).toBe(false);
    await run(client, 'UPDATE kv SET n = ? WHERE k = ?', [5, 'a']);
    expect(await applied('n != ?', null)).toBe(true);
    expect(await applied('n = ?', null)).toBe(false);
    expect(await applied('n <= ?', 5)).toBe(true);
    expect(await applied('n < ?', 5)).toBe(false);
    expect(await applied('n > ?', -6)).toBe(true);
  });

  it('IF on a missing row can apply (= null): the UPDATE then creates cells without a row marker', async () => {
    const { client } = await testCluster();
    expect((await run(client, 'UPDATE kv SET v = ? WHERE k = ? IF n = ?', ['x', 'new', null])).wasApplied()).toBe(true);
    expect(plain(await run(client, 'SELECT k, v FROM kv WHERE k = ?', ['new']))).toEqual([{ k: 'new', v: 'x' }]);
  });

  it('UPDATE / DELETE IF EXISTS apply only to an existing row; DELETE IF conditions', async () => {
    const { client } = await testCluster();
    expect(plain(await run(client, 'UPDATE kv SET v = ? WHERE k = ? IF EXISTS', ['x', 'a']))).toEqual([{ '[applied]': false }]);
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
    await run(client, 'INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 'x']);
    expect((await run(client, 'UPDATE kv SET v = ? WHERE k = ? IF EXISTS', ['y', 'a'])).wasApplied()).toBe(true);
    expect(plain(await run(client, 'DELETE FROM kv WHERE k = ? IF v = ?', ['a', 'x']))).toEqual([{ '[applied]': false, v: 'y' }]);
    expect((await run(client, 'DELETE FROM kv WHERE k = ? IF EXISTS', ['a'])).wasApplied()).toBe(true);
    expect((await run(client, 'SELECT v FROM kv WHERE k = ?', ['a'])).rows).toEqual([]);
  });

  it('refuses conditions on key columns, unset condition values and ordering against null', async () => {
    const { client } = await testCluster();
    await expectResponseError(run(client, 'UPDATE kv SET v = ? WHERE k = ? IF k = ?', ['x', 'a', 'a']), codes.invalid, "PRIMARY KEY column 'k' cannot have IF conditions");
    await expectResponseError(run(client, 'UPDATE kv SET v = ? WHERE k = ? IF v = ?', ['x', 'a', undefined]), codes.invalid, "Invalid 'unset' value in condition");
    await expectResponseError(run(client, 'UPDATE kv SET v = ? WHERE k = ? IF n < ?', ['x', 'a', null]), codes.invalid, 'Invalid comparison with null for operator "<"');
  });

  it('refuses writes at SERIAL consistency', async () => {
    const { client } = await testCluster();
    const serial = { consistency: types.consistencies.localSerial };
    await expectResponseError(run(client, 'INSERT INTO kv (k) VALUES (?)', ['a'], serial), codes.invalid, 'You must use conditional updates for serializable writes');
    await expectResponseError(run(client, 'INSERT INTO kv (k) VALUES (?) IF NOT EXISTS', ['a'], serial), codes.invalid, 'SERIAL is not supported as conditional update commit consistency');
  });
});

describe('lightweight transactions (ScyllaDB result shape)', () => {
  it('always returns the row as it was before, applied or not; nulls when it did not exist', async () => {
    const { client } = await storeCluster({ lwtResults: 'scylla' });
    const created = await run(client, CQL.createHead, head('c1', 2));
    expect(created.columns).toHaveLength(10);
    expect(plain(created)[0]).toMatchObject({ '[applied]': true, id: null, epoch: null, last_seq: null });
    const claimed = await run(client, CQL.claimSeqs, [3, 200, 2, 'c1', 0, 2]);
    expect(claimed.columns.map((c) => c.name)).toEqual(['[applied]', 'epoch', 'last_seq']);
    expect(plain(claimed)).toEqual([{ '[applied]': true, epoch: L(2), last_seq: L(0) }]);
    expect(plain(await run(client, CQL.claimSeqs, [4, 200, 2, 'missing', 3, 2]))).toEqual([{ '[applied]': false, epoch: null, last_seq: null }]);
  });
});

describe('INSERT, UPDATE and DELETE rules', () => {
  it.each([
    ['INSERT INTO kv (v) VALUES (?)', ['x'], 'Some partition key parts are missing: k'],
    ['INSERT INTO events (p, q, c1, v) VALUES (?, ?, ?, ?)', ['p', 1, 'a', 'x'], 'Some clustering keys are missing: c2'],
    ['INSERT INTO kv (k, v) VALUES (?)', ['a'], 'Unmatched column names/values'],
    ['INSERT INTO kv (k, v, v) VALUES (?, ?, ?)', ['a', 'x', 'y'], 'Multiple definitions found for column v'],
    ['INSERT INTO kv (k, nope) VALUES (?, ?)', ['a', 'x'], 'Undefined column name nope'],
    ['INSERT INTO kv (k, v) VALUES (?, ?)', [null, 'x'], 'Invalid null value in condition for column k'],
    ['INSERT INTO kv (k, v) VALUES (?, ?)', [undefined, 'x'], 'Invalid unset value for column k'],
    ['UPDATE kv SET k = ? WHERE k = ?', ['b', 'a'], 'PRIMARY KEY part k found in SET part'],
    ['UPDATE kv SET v = ?, v = ? WHERE k = ?', ['x', 'y', 'a'], 'Multiple definitions found for column v'],
    ['UPDATE events SET v = ? WHERE p = ? AND q = ? AND c1 = ?', ['x', 'p', 1, 'a'], 'Missing mandatory PRIMARY KEY part c2'],
    ['UPDATE events SET v = ? WHERE p = ? AND c1 = ? AND c2 = ?', ['x', 'p', 'a', 1], 'Missing mandatory PRIMARY KEY part q'],
    ['UPDATE log SET v = ? WHERE p = ? AND seq > ?', ['x', 'p', 1], 'Slice restrictions are not supported on the clustering columns in UPDATE statements'],
    ['UPDATE kv SET v = ? WHERE k = ? AND v = ?', ['x', 'a', 'y'], 'Non PRIMARY KEY columns found in where clause: v'],
    ['DELETE FROM events WHERE p = ? AND q = ? AND c2 = ?', ['p', 1, 1], 'PRIMARY KEY column "c2" cannot be restricted as preceding column "c1" is not restricted'],
    ['DELETE v FROM events WHERE p = ? AND q = ? AND c1 = ?', ['p', 1, 'a'], "Primary key column 'c2' must be specified in order to modify column 'v'"],
    ['DELETE FROM events WHERE p = ? AND q = ? AND c1 = ? IF EXISTS', ['p', 1, 'a'], 'DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions'],
    ['DELETE k FROM kv WHERE k = ?', ['a'], 'Invalid identifier k for deletion'],
    ['INSERT INTO kv (k, n) VALUES (?, ?)', ['a', 'x', 'extra'], 'Invalid amount of bind variables: expected 2, got 3'],
    ['INSERT INTO kv (k, v) VALUES (?, ?)', ['', 'x'], 'Key may not be empty'],
    ['UPDATE kv SET v = ? WHERE k = ?', ['x', ''], 'Key may not be empty'],
  ])('%s', async (query, params, message) => {
    const { client } = await testCluster();
    await expectResponseError(run(client, query, params), codes.invalid, message);
  });

  it('refuses a range DELETE as outside the subset', async () => {
    const { client } = await testCluster();
    await expectResponseError(run(client, 'DELETE FROM log WHERE p = ? AND seq < ?', ['p', 3]), codes.syntaxError, 'emulator: unsupported: range deletions');
  });

  it('types literals of the CQL text by their column', async () => {
    const { client } = await testCluster();
    await run(client, "INSERT INTO kv (k, n, i, b, d, x, t, v) VALUES ('a', 9007199254740993, -7, true, 1.5, 0xcafe, 1000, 'it''s')");
    expect(plain(await run(client, "SELECT n, i, b, d, x, t, v FROM kv WHERE k = 'a'"))).toEqual([
      { n: types.Long.fromString('9007199254740993'), i: -7, b: true, d: 1.5, x: Buffer.from('cafe', 'hex'), t: new Date(1000), v: "it's" },
    ]);
    await expectResponseError(run(client, "INSERT INTO kv (k, n) VALUES ('a', 'x')"), codes.invalid, 'Invalid STRING constant (x) for "n" of type bigint');
    await expectResponseError(run(client, "INSERT INTO kv (k, i) VALUES ('a', 3000000000)"), codes.invalid, 'Invalid INTEGER constant (3000000000) for "i" of type int');
    await expectResponseError(run(client, "INSERT INTO kv (k, v) VALUES ('a', 1)"), codes.invalid, 'Invalid INTEGER constant (1) for "v" of type text');
  });
});
