import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InternalError, StoreUnavailableError } from '../../errors.js';
import { CQL } from './scylla-cql.js';
import type { CqlClient } from './scylla-session.js';
import {
  SCYLLA_SCHEMA_VERSION,
  applyMigrations,
  checkSchemaVersion,
  loadMigrations,
  migrationsDir,
  parseMigrations,
  planMigrations,
  splitStatements,
} from './scylla-migrations.js';

const file = (fileName: string, text = 'CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY);') => ({ fileName, text });

describe('the migration files', () => {
  it('parse, number 1..n, and end at SCYLLA_SCHEMA_VERSION', () => {
    const migrations = loadMigrations();
    expect(migrations.map((m) => m.version)).toEqual(Array.from({ length: migrations.length }, (_, i) => i + 1));
    expect(migrations.at(-1)?.version).toBe(SCYLLA_SCHEMA_VERSION);
    expect(readdirSync(migrationsDir()).filter((f) => f.endsWith('.cql'))).toHaveLength(migrations.length);
  });

  it('are idempotent and create every table the store queries', () => {
    const statements = loadMigrations().flatMap((m) => m.statements);
    // ALTER TABLE ... ADD has no IF NOT EXISTS everywhere; applyMigrations takes an existing column as done (tested below).
    for (const s of statements) expect(s, s.slice(0, 60)).toMatch(/^(CREATE (TABLE|TYPE|INDEX) IF NOT EXISTS |ALTER TABLE \w+ ADD )/);
    const created = new Set(statements.map((s) => /IF NOT EXISTS (\w+)/.exec(s)?.[1]));
    const used = new Set(Object.values(CQL).map((q) => /(?:FROM|INTO|UPDATE)\s+(\w+)/.exec(q)?.[1]));
    for (const table of used) expect(created, `table ${table}`).toContain(table);
  });
});

describe('splitStatements', () => {
  it('splits at semicolons, leaving out comments, keeping semicolons inside string literals', () => {
    const text = `
      -- a comment; with a semicolon
      CREATE TABLE a (k int PRIMARY KEY) WITH comment = 'x;y''s';
      // another comment
      /* block; comment */ CREATE TABLE b (k int PRIMARY KEY);
    `;
    expect(splitStatements(text)).toEqual([
      "CREATE TABLE a (k int PRIMARY KEY) WITH comment = 'x;y''s'",
      'CREATE TABLE b (k int PRIMARY KEY)',
    ]);
  });

  it('refuses a statement without its semicolon, or an unterminated literal or comment', () => {
    expect(() => splitStatements('CREATE TABLE a (k int PRIMARY KEY)')).toThrow(InternalError);
    expect(() => splitStatements("CREATE TABLE a WITH comment = 'x;")).toThrow(InternalError);
    expect(() => splitStatements('/* never closed; ')).toThrow(InternalError);
  });
});

describe('parseMigrations', () => {
  it('orders by version, whatever the order of the files', () => {
    const parsed = parseMigrations([file('0003_c.cql'), file('0001_a.cql'), file('0002_b.cql')]);
    expect(parsed.map((m) => [m.version, m.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(parsed[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses gaps, repeats, bad names and empty files', () => {
    expect(() => parseMigrations([file('0001_a.cql'), file('0003_c.cql')])).toThrow(/without gaps or repeats/);
    expect(() => parseMigrations([file('0001_a.cql'), file('0001_again.cql')])).toThrow(/without gaps or repeats/);
    expect(() => parseMigrations([file('0002_b.cql')])).toThrow(/without gaps or repeats/);
    expect(() => parseMigrations([file('1_a.cql')])).toThrow(/NNNN_name\.cql/);
    expect(() => parseMigrations([file('0001_A-b.cql')])).toThrow(/NNNN_name\.cql/);
    expect(() => parseMigrations([file('0001_a.cql', '-- nothing here\n')])).toThrow(/no statement/);
  });
});

describe('planMigrations', () => {
  const known = parseMigrations([file('0001_a.cql'), file('0002_b.cql', 'CREATE TABLE IF NOT EXISTS u (k int PRIMARY KEY);')]);
  const [v1, v2] = known as [(typeof known)[0], (typeof known)[0]];

  it('returns the unapplied migrations in order; none when current (idempotent)', () => {
    expect(planMigrations(known, []).map((m) => m.version)).toEqual([1, 2]);
    expect(planMigrations(known, [{ version: 1, checksum: v1.checksum }]).map((m) => m.version)).toEqual([2]);
    expect(planMigrations(known, [v1, v2].map((m) => ({ version: m.version, checksum: m.checksum })))).toEqual([]);
  });

  it('refuses a keyspace with a newer schema than this build knows', () => {
    const applied = [
      { version: 1, checksum: v1.checksum },
      { version: 2, checksum: v2.checksum },
      { version: 3, checksum: 'from a newer build' },
    ];
    expect(() => planMigrations(known, applied)).toThrow(StoreUnavailableError);
    expect(() => planMigrations(known, applied)).toThrow(/schema version 3; this build knows versions up to 2/);
  });

  it('refuses when an applied migration’s file was edited afterwards', () => {
    expect(() => planMigrations(known, [{ version: 1, checksum: 'something else' }])).toThrow(/0001_a was changed after it was applied/);
  });
});

describe('checkSchemaVersion (what the store accepts at open)', () => {
  it('accepts exactly 1..expected', () => {
    expect(() => checkSchemaVersion([1, 2], 2)).not.toThrow();
    expect(() => checkSchemaVersion([2, 1], 2)).not.toThrow();
  });

  it('asks for chat migrate when versions are missing, and refuses a newer schema', () => {
    expect(() => checkSchemaVersion([], 2)).toThrow(/lacks schema version\(s\) 1, 2: run `chat migrate`/);
    expect(() => checkSchemaVersion([1], 2)).toThrow(StoreUnavailableError);
    expect(() => checkSchemaVersion([1, 2, 3], 2)).toThrow(/schema version 3; this build understands up to 2/);
  });
});

describe('applyMigrations', () => {
  it('sends DDL unprepared and the records prepared (a prepared unqualified DDL statement makes Cassandra 5 log an error per statement)', async () => {
    const sent: { query: string; prepare: boolean | undefined }[] = [];
    const client: CqlClient = {
      connect: async () => undefined,
      shutdown: async () => undefined,
      batch: async () => ({ rows: [] }) as never,
      execute: async (query, _params, options) => {
        sent.push({ query, prepare: options?.prepare });
        return { rows: [], first: () => null } as never;
      },
    };
    const migrations = loadMigrations();
    await applyMigrations(client, migrations);
    const ddl = sent.filter((s) => /^\s*(CREATE|ALTER)/i.test(s.query));
    expect(ddl.length).toBe(1 + migrations.reduce((n, m) => n + m.statements.length, 0));
    expect(ddl.filter((s) => s.prepare !== false)).toEqual([]);
    expect(sent.filter((s) => !/^\s*(CREATE|ALTER)/i.test(s.query)).every((s) => s.prepare === true)).toBe(true);
  });

  it('takes an ALTER TABLE ... ADD of columns that exist (an earlier run broke before recording it) as done, and fails on any other error', async () => {
    const answer = (message: string): CqlClient => ({
      connect: async () => undefined,
      shutdown: async () => undefined,
      batch: async () => ({ rows: [] }) as never,
      execute: async (query) => {
        if (/^ALTER/i.test(query)) throw new Error(message);
        return { rows: [], first: () => null } as never;
      },
    });
    const migrations = parseMigrations([file('0001_a.cql'), file('0002_b.cql', 'ALTER TABLE t ADD (x boolean);')]);
    expect(await applyMigrations(answer("Column with name 'x' already exists"), migrations)).toEqual([1, 2]);
    expect(await applyMigrations(answer('Invalid column name x because it conflicts with an existing column'), migrations)).toEqual([1, 2]);
    await expect(applyMigrations(answer('unconfigured table t'), migrations)).rejects.toThrow(/unconfigured table t/);
  });
});
