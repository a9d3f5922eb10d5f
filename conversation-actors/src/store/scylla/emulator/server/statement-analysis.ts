import { type CqlType, type ParsedStatement, type QualifiedName, type Statement, type Term, isDdl } from '../cql-ast.js';
import { receiversOf } from '../cql-bind.js';
import { typeInfo } from '../cql-codec.js';
import type { Schema, TableDef } from '../cql-schema.js';
import type { ColumnSpec, PreparedDescription, TableSpec } from './results.js';

// What a node tells a client when it prepares a statement, worked out from
// the emulator's parse and schema: the type of each bind marker (so the
// client encodes values for their columns, and the server decodes them
// back), which markers form the partition key (token-aware routing), and
// the columns of the rows it returns.

/** A prepared CQL statement's description, without its id. */
export interface Analysis extends Omit<PreparedDescription, 'id'> {
  /** The column type of each marker, in marker order (what EXECUTE's values are decoded by). */
  markerTypes: CqlType[];
}

const USE = /^\s*use\s+(?:"((?:[^"]|"")+)"|(\w+))\s*;?\s*$/i;

/** The keyspace a `USE ks` / `USE "ks"` names (unquoted names fold to lowercase), or undefined for any other statement. */
export function parseUse(query: string): string | undefined {
  const m = USE.exec(query);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/""/g, '"') : (m[2] as string).toLowerCase();
}

/**
 * Describes a parsed statement as PREPARE answers it, resolving its table
 * against `schema` with the connection's keyspace. Throws the node's errors
 * for a table or column that does not exist ("unconfigured table",
 * "Undefined column name"). DDL has no table to resolve: its markers (none,
 * in practice) are described as blobs.
 */
export function analyzeStatement(parsed: ParsedStatement, keyspace: string | undefined, schema: Schema): Analysis {
  const { statement, markers } = parsed;
  if (isDdl(statement)) {
    const markerTypes = Array.from({ length: markers }, (): CqlType => 'blob');
    return { markerTypes, bindSpec: undefined, bindColumns: markerTypes.map((type, i) => ({ name: `[marker${i}]`, type: typeInfo(type) })), pkIndexes: [], result: undefined };
  }
  const table = schema.table(statement.table, keyspace);
  const receivers = receiversOf(statement, table);
  const bound = Array.from({ length: markers }, (_, i) => receivers[i] ?? { name: `[marker${i}]`, type: 'blob' as CqlType });
  const spec = specOf(table);
  return {
    markerTypes: bound.map((r) => r.type),
    bindSpec: spec,
    bindColumns: bound.map((r) => ({ name: r.name, type: typeInfo(r.type) })),
    pkIndexes: partitionKeyIndexes(statement, table),
    // A conditional statement's columns depend on whether it applied: each response carries its own (NO_METADATA here).
    result: statement.type === 'select' ? { spec, columns: selectedColumns(statement, table) } : undefined,
  };
}

/** The keyspace and table a statement's rows are reported under; undefined when it names no keyspace and the connection has none. */
export function tableSpecOf(statement: Statement, keyspace: string | undefined): TableSpec | undefined {
  if (isDdl(statement)) return undefined;
  const name: QualifiedName = statement.table;
  const ks = name.keyspace ?? keyspace;
  return ks === undefined ? undefined : { keyspace: ks, table: name.name };
}

function specOf(table: TableDef): TableSpec {
  return { keyspace: table.keyspace, table: table.name };
}

function selectedColumns(statement: Statement & { type: 'select' }, table: TableDef): ColumnSpec[] {
  const columns = statement.columns === '*' ? table.allColumns : statement.columns.map((name) => table.column(name));
  return columns.map((c) => ({ name: c.name, type: typeInfo(c.type) }));
}

/**
 * The marker index of each partition-key column, in key order, when every
 * one is bound by a marker (`k = ?` in WHERE, or `?` in INSERT's VALUES);
 * otherwise none, as a node answers: the driver then routes without a token.
 */
function partitionKeyIndexes(statement: Statement, table: TableDef): number[] {
  const termOf = (column: string): Term | undefined => {
    if (statement.type === 'insert') return statement.values[statement.columns.indexOf(column)];
    if (statement.type === 'select' || statement.type === 'update' || statement.type === 'delete') {
      return statement.where.find((r) => r.column === column && r.op === '=')?.term;
    }
    return undefined;
  };
  const out: number[] = [];
  for (const column of table.partitionKey) {
    const term = termOf(column.name);
    if (term?.kind !== 'bind') return [];
    out.push(term.index);
  }
  return out;
}
