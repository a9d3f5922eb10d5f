import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { CQL } from '../scylla-cql.js';
import { MIGRATIONS_TABLE_CQL, loadMigrations } from '../scylla-migrations.js';
import { parseCql } from './cql-parser.js';

const questionMarks = (text: string): number => (text.match(/\?/g) ?? []).length;

function syntaxErrorOf(text: string): errors.ResponseError {
  try {
    parseCql(text);
  } catch (err) {
    expect(err).toBeInstanceOf(errors.ResponseError);
    expect((err as errors.ResponseError).code).toBe(types.responseErrorCodes.syntaxError);
    return err as errors.ResponseError;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseCql on the store’s statements', () => {
  it.each(Object.entries(CQL))('parses %s with one marker per ?', (_name, text) => {
    const parsed = parseCql(text);
    expect(parsed.markers).toBe(questionMarks(text));
    expect(['select', 'insert', 'update', 'delete']).toContain(parsed.statement.type);
  });

  it('parses every statement of every migration file and the migrations table', () => {
    const statements = [MIGRATIONS_TABLE_CQL, ...loadMigrations().flatMap((m) => m.statements)];
    expect(statements.length).toBeGreaterThan(5);
    for (const text of statements) expect(parseCql(text).statement.type).toBe('createTable');
  });

  it('reads the messages table: composite partition key, clustering order', () => {
    const text = loadMigrations()[0]?.statements.find((s) => /TABLE IF NOT EXISTS messages/.test(s)) ?? '';
    expect(parseCql(text).statement).toMatchObject({
      type: 'createTable',
      ifNotExists: true,
      table: { name: 'messages' },
      partitionKey: ['conversation_id', 'bucket'],
      clustering: ['seq'],
      clusteringOrder: [{ column: 'seq', desc: false }],
    });
  });

  it('numbers markers in text order, through SET, WHERE and IF', () => {
    expect(parseCql(CQL.claimSeqs).statement).toMatchObject({
      type: 'update',
      assignments: [
        { column: 'last_seq', term: { kind: 'bind', index: 0 } },
        { column: 'last_activity_at', term: { kind: 'bind', index: 1 } },
        { column: 'epoch', term: { kind: 'bind', index: 2 } },
      ],
      where: [{ column: 'id', op: '=', term: { kind: 'bind', index: 3 } }],
      conditions: {
        kind: 'columns',
        conditions: [
          { column: 'last_seq', op: '=', term: { kind: 'bind', index: 4 } },
          { column: 'epoch', op: '<=', term: { kind: 'bind', index: 5 } },
        ],
      },
    });
  });

  it('keeps literals typed by kind, and IF NOT EXISTS', () => {
    expect(parseCql(CQL.createHead).statement).toMatchObject({
      type: 'insert',
      ifNotExists: true,
      values: expect.arrayContaining([{ kind: 'literal', literal: { kind: 'integer', value: '0' } }]),
    });
  });

  it('reads ORDER BY and LIMIT ? of a select', () => {
    expect(parseCql(CQL.readDescending).statement).toMatchObject({ orderBy: [{ column: 'seq', desc: true }], limit: { kind: 'bind', index: 4 } });
  });
});

describe('parseCql syntax', () => {
  it('is case-insensitive for keywords, lowercases identifiers unless quoted, reads ks.table', () => {
    expect(parseCql('select "Id", NAME from Chat.Users where ID = ? limit 5;').statement).toMatchObject({
      type: 'select',
      table: { keyspace: 'chat', name: 'users' },
      columns: ['Id', 'name'],
      where: [{ column: 'id' }],
      limit: { kind: 'literal', literal: { kind: 'integer', value: '5' } },
    });
  });

  it('reads keyspace DDL with a replication map and durable_writes', () => {
    expect(parseCql("CREATE KEYSPACE IF NOT EXISTS k WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = true").statement).toEqual({
      type: 'createKeyspace',
      name: 'k',
      ifNotExists: true,
      replication: new Map([
        ['class', 'NetworkTopologyStrategy'],
        ['dc1', '3'],
      ]),
    });
    expect(parseCql('DROP KEYSPACE IF EXISTS k').statement).toEqual({ type: 'dropKeyspace', name: 'k', ifExists: true });
    expect(parseCql('DROP TABLE k.t').statement).toEqual({ type: 'dropTable', table: { keyspace: 'k', name: 't' }, ifExists: false });
  });

  it('reads DELETE of columns and IF EXISTS, SELECT *, and ignorable table options', () => {
    expect(parseCql('DELETE a, b FROM t WHERE k = ? IF EXISTS').statement).toMatchObject({ columns: ['a', 'b'], conditions: { kind: 'exists' } });
    expect(parseCql('SELECT * FROM t WHERE k = 1 ALLOW FILTERING').statement).toMatchObject({ columns: '*', allowFiltering: true });
    expect(parseCql("CREATE TABLE t (k text PRIMARY KEY) WITH gc_grace_seconds = 10 AND compaction = {'class': 'x'}").statement).toMatchObject({ partitionKey: ['k'] });
  });

  it.each([
    ['SELECT a FROM t WHERE k IN (?, ?)', /unsupported: IN relation/],
    ['SELECT a FROM t WHERE token(k) > ?', /unsupported: token\(\)/],
    ['SELECT count(*) FROM t', /unsupported: selector function count/],
    ['SELECT a AS b FROM t', /unsupported: column aliases/],
    ['SELECT DISTINCT k FROM t', /unsupported: SELECT DISTINCT/],
    ['SELECT JSON k FROM t', /unsupported: SELECT JSON/],
    ['SELECT a FROM t WHERE k = ? PER PARTITION LIMIT 1', /unsupported: PER PARTITION LIMIT/],
    ['INSERT INTO t (k) VALUES (?) USING TTL 5', /unsupported: USING/],
    ['UPDATE t USING TIMESTAMP 5 SET a = ? WHERE k = ?', /unsupported: USING/],
    ['UPDATE t SET n = n + 1 WHERE k = ?', /unsupported: column reference or arithmetic in a value: n/],
    ['UPDATE t SET a = ? + ? WHERE k = ?', /unsupported: arithmetic/],
    ['UPDATE t SET m[?] = ? WHERE k = ?', /unsupported: element/],
    ["INSERT INTO t (k, m) VALUES (?, {'a': 1})", /unsupported: collection literal/],
    ['CREATE TABLE t (k text PRIMARY KEY, l list<text>)', /unsupported: column type list<...>/],
    ['CREATE TABLE t (k text PRIMARY KEY, c counter)', /unsupported: column type counter/],
    ['CREATE TABLE t (k text, c text, s text static, PRIMARY KEY (k, c))', /unsupported: static column s/],
    ['CREATE TABLE t (k text PRIMARY KEY) WITH default_time_to_live = 5', /unsupported: table option default_time_to_live/],
    ['CREATE TABLE t (k text PRIMARY KEY) WITH COMPACT STORAGE', /unsupported: COMPACT STORAGE/],
    ['CREATE INDEX ON t (a)', /unsupported: CREATE INDEX/],
    ['ALTER TABLE t ADD a text', /unsupported: ALTER statements/],
    ['TRUNCATE t', /unsupported: TRUNCATE statements/],
    ['USE ks', /unsupported: USE statements/],
    ['BEGIN BATCH INSERT INTO t (k) VALUES (?) APPLY BATCH', /unsupported: BEGIN BATCH/],
    ['SELECT a FROM t WHERE (c1, c2) > (?, ?)', /unsupported: multi-column relation/],
  ])('refuses %s as unsupported', (text, message) => {
    expect(syntaxErrorOf(text).message).toMatch(message);
  });

  it.each([
    ['SELECT FROM t', /reserved keyword FROM used as an identifier/],
    ['SELECT a FROM t WHERE k = ', /expecting a value at input '<EOF>'/],
    ['SELECT a FROM t WHERE', /expecting an identifier at input '<EOF>'/],
    ['SELECT a FROM t extra', /extraneous input at input 'extra'/],
    ['SELECT limit FROM t', /reserved keyword limit used as an identifier/],
    ['UPDATE t SET a = ? WHERE k = ? IF NOT EXISTS', /IF NOT EXISTS is only valid on INSERT/],
    ['CREATE TABLE t (k text PRIMARY KEY, c text, PRIMARY KEY (k, c))', /multiple PRIMARY KEYs/],
    ['INSERT INTO t (k) VALUES (?) IF EXISTS', /expecting NOT/],
  ])('refuses %s as a syntax error', (text, message) => {
    expect(syntaxErrorOf(text).message).toMatch(message);
  });

  it('accepts a reserved word as an identifier when double-quoted', () => {
    expect(parseCql('SELECT "limit" FROM t WHERE k = ?').statement).toMatchObject({ columns: ['limit'] });
  });
});
