import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError, StoreUnavailableError } from '../../errors.js';
import type { CqlClient } from './scylla-session.js';

/**
 * The schema version this code reads and writes: the highest migration file
 * (a test keeps the two equal). The store refuses to open a keyspace at any
 * other version: older needs `chat migrate`, newer needs a newer build.
 */
export const SCYLLA_SCHEMA_VERSION = 9;

/** The migration scope recorded in schema_migrations (one partition). */
export const MIGRATION_SCOPE = 'chat';

/** `NNNN_name.cql`: the version is the number, applied in ascending order. */
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.cql$/;

/** One migration file, parsed. */
export interface Migration {
  version: number;
  name: string;
  /** The CQL statements, in file order, without comments or the closing semicolons. */
  statements: string[];
  /** sha256 of the file: an applied migration whose file later changed is refused. */
  checksum: string;
}

/** A version recorded as applied in the keyspace. */
export interface AppliedMigration {
  version: number;
  checksum: string;
}

/** The bootstrap table of every keyspace `chat migrate` manages; not itself a numbered migration. */
export const MIGRATIONS_TABLE_CQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  scope text, version int, name text, checksum text, applied_at timestamp,
  PRIMARY KEY ((scope), version))`;

/** The migrations folder: beside this module in the sources, beside the bundle once built (deploy/build.mjs copies it). */
export function migrationsDir(): string {
  return fileURLToPath(new URL('./migrations/', import.meta.url));
}

/**
 * Splits CQL text into statements at semicolons, outside string literals
 * ('...' with '' escapes) and comments (-- and // to the end of the line, /* *\/).
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === "'") {
      const end = closingQuote(text, i);
      current += text.slice(i, end + 1);
      i = end;
    } else if ((c === '-' && next === '-') || (c === '/' && next === '/')) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end - 1;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw new InternalError('unterminated /* comment in CQL');
      i = end + 1;
    } else if (c === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
    } else {
      current += c;
    }
  }
  if (current.trim()) throw new InternalError(`CQL statement without a closing semicolon: ${current.trim().slice(0, 60)}`);
  return statements;
}

function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === "'") {
      if (text[i + 1] === "'") i++;
      else return i;
    }
  }
  throw new InternalError('unterminated string literal in CQL');
}

/**
 * The migrations of `files`, in version order. Refuses (InternalError) a
 * file not named NNNN_name.cql, two files of one version, a gap in the
 * versions (1, 2, 3, ...), or a file with no statement.
 */
export function parseMigrations(files: readonly { fileName: string; text: string }[]): Migration[] {
  const migrations = files.map(({ fileName, text }): Migration => {
    const match = FILE_NAME.exec(fileName);
    if (!match) throw new InternalError(`migration file ${fileName}: expected NNNN_name.cql`);
    const statements = splitStatements(text);
    if (statements.length === 0) throw new InternalError(`migration file ${fileName} holds no statement`);
    return { version: Number(match[1]), name: match[2] as string, statements, checksum: createHash('sha256').update(text).digest('hex') };
  });
  migrations.sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new InternalError(`migration versions must be 1, 2, 3, ... without gaps or repeats; found ${migrations.map((x) => x.version).join(', ')}`);
  });
  return migrations;
}

/** The migrations in `dir` (default: migrationsDir()). */
export function loadMigrations(dir = migrationsDir()): Migration[] {
  if (!existsSync(dir)) throw new InternalError(`migrations folder missing: ${dir} (rebuild with npm run build)`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cql'))
    .map((fileName) => ({ fileName, text: readFileSync(join(dir, fileName), 'utf8') }));
  return parseMigrations(files);
}

/**
 * The migrations still to apply, in order. Refuses (StoreUnavailableError) a
 * keyspace with a version this build does not know (a newer schema), and
 * (InternalError) one where an applied migration's file has changed since.
 */
export function planMigrations(known: readonly Migration[], applied: readonly AppliedMigration[]): Migration[] {
  const byVersion = new Map(known.map((m) => [m.version, m]));
  const newest = known.length === 0 ? 0 : Math.max(...known.map((m) => m.version));
  for (const a of applied) {
    const mine = byVersion.get(a.version);
    if (!mine) throw new StoreUnavailableError(`the keyspace has schema version ${a.version}; this build knows versions up to ${newest}: use a newer build`);
    if (mine.checksum !== a.checksum) {
      throw new InternalError(`migration ${String(a.version).padStart(4, '0')}_${mine.name} was changed after it was applied; add a new migration instead`);
    }
  }
  const done = new Set(applied.map((a) => a.version));
  return known.filter((m) => !done.has(m.version));
}

/**
 * Whether the store may open a keyspace with these applied versions: exactly
 * 1..SCYLLA_SCHEMA_VERSION. Throws StoreUnavailableError saying what to do otherwise.
 */
export function checkSchemaVersion(applied: readonly number[], expected = SCYLLA_SCHEMA_VERSION): void {
  const newest = applied.length === 0 ? 0 : Math.max(...applied);
  if (newest > expected) throw new StoreUnavailableError(`the keyspace has schema version ${newest}; this build understands up to ${expected}`);
  const missing = Array.from({ length: expected }, (_, i) => i + 1).filter((v) => !applied.includes(v));
  if (missing.length > 0) throw new StoreUnavailableError(`the keyspace lacks schema version(s) ${missing.join(', ')}: run \`chat migrate\` first`);
}

/** The versions recorded in the connected keyspace (none if the table does not exist yet is the caller's to create). */
export async function readApplied(client: CqlClient): Promise<AppliedMigration[]> {
  const result = await client.execute('SELECT version, checksum FROM schema_migrations WHERE scope = ?', [MIGRATION_SCOPE], { prepare: true });
  return result.rows.map((r) => ({ version: r['version'] as number, checksum: r['checksum'] as string }));
}

/** Schema statements run once each: never prepared (see applyMigrations). */
export const DDL_OPTIONS = { prepare: false } as const;

/**
 * Applies the pending migrations to the keyspace `client` is connected to,
 * in order, each statement then its record (so an interrupted run is simply
 * run again: statements are IF NOT EXISTS, and an ALTER TABLE ... ADD whose
 * columns exist already is taken as done). Returns the versions applied.
 * DDL is sent unprepared, explicitly: the store's client prepares by default,
 * and a prepared unqualified DDL statement makes Cassandra log an error
 * (CASSANDRA-17248's keyspace check) for every statement, besides filling the
 * prepared-statement cache with statements run once. The driver waits for
 * schema agreement after each statement.
 */
export async function applyMigrations(client: CqlClient, known: readonly Migration[], onApplied?: (m: Migration) => void): Promise<number[]> {
  await client.execute(MIGRATIONS_TABLE_CQL, [], DDL_OPTIONS);
  const pending = planMigrations(known, await readApplied(client));
  for (const m of pending) {
    for (const statement of m.statements) await executeDdl(client, statement);
    await client.execute(
      'INSERT INTO schema_migrations (scope, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS',
      [MIGRATION_SCOPE, m.version, m.name, m.checksum, new Date()],
      { prepare: true },
    );
    onApplied?.(m);
  }
  return pending.map((m) => m.version);
}

/** `ALTER TABLE t ADD ...`: CQL has no IF NOT EXISTS for it on every server this store supports. */
const ALTER_ADD = /^ALTER TABLE \w+ ADD\b/i;
/** What Cassandra ("Column with name 'x' already exists") and ScyllaDB ("... conflicts with an existing column") answer an ALTER ADD of a column that exists. */
const COLUMN_EXISTS = /already exists|conflicts with an existing column/i;

/** Runs one DDL statement; an ALTER ADD of columns a broken earlier run added already counts as done. */
async function executeDdl(client: CqlClient, statement: string): Promise<void> {
  try {
    await client.execute(statement, [], DDL_OPTIONS);
  } catch (err) {
    if (ALTER_ADD.test(statement) && err instanceof Error && COLUMN_EXISTS.test(err.message)) return;
    throw err;
  }
}
