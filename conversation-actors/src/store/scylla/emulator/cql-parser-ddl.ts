import { CQL_TYPES, type CqlType, type CreateKeyspaceStatement, type CreateTableStatement, type DdlStatement } from './cql-ast.js';
import type { Cursor } from './cql-cursor.js';
import { unsupported } from './cql-errors.js';

/**
 * Table options that change nothing the emulator models (storage tuning),
 * accepted and ignored. Any other option, notably default_time_to_live (TTL
 * is not modelled), is refused.
 */
const IGNORED_TABLE_OPTIONS = new Set([
  'comment',
  'compaction',
  'compression',
  'caching',
  'gc_grace_seconds',
  'bloom_filter_fp_chance',
  'speculative_retry',
  'paxos_grace_seconds',
  'tombstone_gc',
  'memtable_flush_period_in_ms',
]);

/**
 * `CREATE KEYSPACE [IF NOT EXISTS] ks WITH replication = {...} [AND durable_writes = b]`
 * or `CREATE TABLE [IF NOT EXISTS] [ks.]t (...) [WITH ...]`. Other CREATE
 * statements (index, view, type, function, role) are unsupported.
 */
export function parseCreate(c: Cursor): DdlStatement {
  c.expectKeyword('create');
  if (c.acceptKeyword('keyspace')) return parseCreateKeyspace(c);
  if (c.acceptKeyword('table') || c.acceptKeyword('columnfamily')) return parseCreateTable(c);
  throw unsupported(`CREATE ${c.peek().text.toUpperCase()}`);
}

/** `DROP KEYSPACE [IF EXISTS] ks` or `DROP TABLE [IF EXISTS] [ks.]t`. */
export function parseDrop(c: Cursor): DdlStatement {
  c.expectKeyword('drop');
  const kind = c.acceptKeyword('keyspace') ? 'keyspace' : c.acceptKeyword('table') || c.acceptKeyword('columnfamily') ? 'table' : undefined;
  if (!kind) throw unsupported(`DROP ${c.peek().text.toUpperCase()}`);
  const ifExists = c.acceptKeyword('if');
  if (ifExists) c.expectKeyword('exists');
  if (kind === 'keyspace') return { type: 'dropKeyspace', name: c.identifier(), ifExists };
  return { type: 'dropTable', table: c.qualifiedName(), ifExists };
}

function ifNotExists(c: Cursor): boolean {
  if (!c.acceptKeyword('if')) return false;
  c.expectKeyword('not', 'exists');
  return true;
}

function parseCreateKeyspace(c: Cursor): CreateKeyspaceStatement {
  const ine = ifNotExists(c);
  const name = c.identifier();
  c.expectKeyword('with');
  let replication: Map<string, string> | undefined;
  do {
    const option = c.identifier();
    c.expectPunct('=');
    if (option === 'replication') replication = mapLiteral(c);
    else if (option === 'durable_writes') c.literal();
    else throw unsupported(`keyspace option ${option}`);
  } while (c.acceptKeyword('and'));
  if (!replication) return c.fail('missing mandatory option replication');
  return { type: 'createKeyspace', name, ifNotExists: ine, replication };
}

/** `{'key': 'value' | number, ...}`: values kept as text. */
function mapLiteral(c: Cursor): Map<string, string> {
  const map = new Map<string, string>();
  c.expectPunct('{');
  if (c.acceptPunct('}')) return map;
  do {
    const key = c.literal();
    if (key.kind !== 'string') return c.fail('expecting a string key');
    c.expectPunct(':');
    const value = c.literal();
    if (value.kind !== 'string' && value.kind !== 'integer' && value.kind !== 'boolean') return c.fail('expecting a string or integer value');
    map.set(key.value, String(value.value));
  } while (c.acceptPunct(','));
  c.expectPunct('}');
  return map;
}

function parseCreateTable(c: Cursor): CreateTableStatement {
  const statement: CreateTableStatement = {
    type: 'createTable',
    ifNotExists: ifNotExists(c),
    table: c.qualifiedName(),
    columns: [],
    partitionKey: [],
    clustering: [],
    clusteringOrder: [],
  };
  let primaryKeys = 0;
  c.expectPunct('(');
  do {
    if (c.isPunct(')')) break; // a trailing comma
    if (c.isKeyword('primary')) {
      c.expectKeyword('primary', 'key');
      primaryKeyClause(c, statement);
      primaryKeys++;
      continue;
    }
    const name = c.identifier();
    statement.columns.push({ name, type: columnType(c) });
    if (c.isKeyword('static')) throw unsupported(`static column ${name}`);
    if (c.acceptKeyword('primary')) {
      c.expectKeyword('key');
      statement.partitionKey = [name];
      primaryKeys++;
    }
  } while (c.acceptPunct(','));
  c.expectPunct(')');
  if (primaryKeys > 1) return c.fail('multiple PRIMARY KEYs specified (exactly one required)');
  if (c.acceptKeyword('with')) tableOptions(c, statement);
  return statement;
}

/** `PRIMARY KEY (pk, ck, ...)` or `PRIMARY KEY ((pk1, pk2), ck, ...)`. */
function primaryKeyClause(c: Cursor, statement: CreateTableStatement): void {
  c.expectPunct('(');
  if (c.acceptPunct('(')) {
    do statement.partitionKey.push(c.identifier());
    while (c.acceptPunct(','));
    c.expectPunct(')');
  } else {
    statement.partitionKey.push(c.identifier());
  }
  while (c.acceptPunct(',')) statement.clustering.push(c.identifier());
  c.expectPunct(')');
}

function columnType(c: Cursor): CqlType {
  const token = c.next();
  if (token.kind !== 'word') return c.fail('expecting a column type');
  if (c.isPunct('<')) throw unsupported(`column type ${token.text}<...> (collections, tuples, frozen)`);
  if (!(CQL_TYPES as readonly string[]).includes(token.value)) throw unsupported(`column type ${token.text}`);
  return token.value as CqlType;
}

function tableOptions(c: Cursor, statement: CreateTableStatement): void {
  do {
    if (c.acceptKeyword('clustering')) {
      c.expectKeyword('order', 'by');
      c.expectPunct('(');
      do {
        const column = c.identifier();
        const desc = c.acceptKeyword('desc');
        if (!desc && !c.acceptKeyword('asc')) c.fail('expecting ASC or DESC');
        statement.clusteringOrder.push({ column, desc });
      } while (c.acceptPunct(','));
      c.expectPunct(')');
      continue;
    }
    if (c.isKeyword('compact')) throw unsupported('COMPACT STORAGE');
    const option = c.identifier();
    if (!IGNORED_TABLE_OPTIONS.has(option)) throw unsupported(`table option ${option}`);
    c.expectPunct('=');
    if (c.isPunct('{')) mapLiteral(c);
    else c.literal();
  } while (c.acceptKeyword('and'));
}
