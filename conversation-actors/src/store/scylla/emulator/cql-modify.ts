import type { Conditions, ModificationStatement, Relation, Term } from './cql-ast.js';
import type { Binding } from './cql-bind.js';
import { UNSET } from './cql-codec.js';
import { invalid } from './cql-errors.js';
import { modificationKey } from './cql-restrictions.js';
import type { ColumnDef, TableDef } from './cql-schema.js';
import type { RowOp } from './cql-storage.js';
import { compareValues } from './cql-types.js';

/** An IF condition with its value bound. */
export interface BoundCondition {
  column: ColumnDef;
  op: Relation['op'];
  value: Buffer | null;
}

/** The IF clause of a write, bound. */
export type BoundConditions = { kind: 'none' } | { kind: 'exists' } | { kind: 'notExists' } | { kind: 'columns'; conditions: BoundCondition[] };

/**
 * A modification ready to apply: the table, the partition, the clustering
 * key (complete for row writes, a prefix for a DELETE of rows), the storage
 * operation and the conditions. Timestamps are given when it is applied.
 */
export interface CompiledWrite {
  table: TableDef;
  partitionKey: Buffer[];
  clustering: Buffer[];
  op: RowOp;
  conditions: BoundConditions;
}

/**
 * Checks an INSERT, UPDATE or DELETE against the node's rules and binds it:
 * - INSERT: every primary key column given, non-null; writes a row marker
 *   and the given cells (null: a cell tombstone; unset: not written);
 * - UPDATE: the full primary key by `=`, no key column in SET; writes the
 *   cells, no row marker;
 * - DELETE: the partition key, then a clustering prefix by `=` (whole
 *   partition, a prefix range or a row: a tombstone), or with columns the
 *   full key (cell tombstones);
 * - IF: conditions on regular columns only, IF EXISTS / IF NOT EXISTS;
 * - a single-column partition key may not be empty.
 * Errors are ResponseErrors (invalid) with the node's messages.
 */
export function compileWrite(table: TableDef, s: ModificationStatement, binding: Binding): CompiledWrite {
  const write = compileStatement(table, s, binding);
  // A single-column partition key may not be empty (an empty text, a zero-length blob): a node refuses the write.
  if (write.partitionKey.length === 1 && write.partitionKey[0]?.length === 0) throw invalid('Key may not be empty');
  return write;
}

function compileStatement(table: TableDef, s: ModificationStatement, binding: Binding): CompiledWrite {
  if (s.type === 'insert') return compileInsert(table, s.columns, s.values, s.ifNotExists, binding);
  if (s.type === 'update') {
    const seen = new Set<string>();
    for (const a of s.assignments) {
      const column = table.column(a.column);
      if (column.kind !== 'regular') throw invalid(`PRIMARY KEY part ${a.column} found in SET part`);
      if (seen.has(a.column)) throw invalid(`Multiple definitions found for column ${a.column}`);
      seen.add(a.column);
    }
    const key = bindKey(table, s, binding);
    const conditions = bindConditions(table, s.conditions, binding);
    const cells = cellsOf(table, s.assignments, binding);
    return { table, ...key, op: { kind: 'write', clustering: key.clustering, marker: false, cells }, conditions };
  }
  for (const name of s.columns) {
    if (table.column(name).kind !== 'regular') throw invalid(`Invalid identifier ${name} for deletion (should not be a PRIMARY KEY part)`);
  }
  const key = bindKey(table, s, binding);
  const conditions = bindConditions(table, s.conditions, binding);
  const op: RowOp =
    s.columns.length > 0
      ? { kind: 'write', clustering: key.clustering, marker: false, cells: new Map(s.columns.map((c) => [c, null])) }
      : { kind: 'delete', prefix: key.clustering };
  return { table, ...key, op, conditions };
}

function compileInsert(table: TableDef, columns: string[], values: Term[], ifNotExists: boolean, binding: Binding): CompiledWrite {
  if (columns.length !== values.length) throw invalid('Unmatched column names/values');
  const seen = new Set<string>();
  for (const name of columns) {
    table.column(name);
    if (seen.has(name)) throw invalid(`Multiple definitions found for column ${name}`);
    seen.add(name);
  }
  const missingPk = table.partitionKey.filter((c) => !seen.has(c.name));
  if (missingPk.length > 0) throw invalid(`Some partition key parts are missing: ${missingPk.map((c) => c.name).join(', ')}`);
  const missingCk = table.clustering.filter((c) => !seen.has(c.name));
  if (missingCk.length > 0) throw invalid(`Some clustering keys are missing: ${missingCk.map((c) => c.name).join(', ')}`);
  const termOf = (c: ColumnDef): Term => values[columns.indexOf(c.name)] as Term;
  const partitionKey = table.partitionKey.map((c) => binding.key(termOf(c), c));
  const clustering = table.clustering.map((c) => binding.key(termOf(c), c));
  const assignments = columns.map((column, i) => ({ column, term: values[i] as Term })).filter((a) => table.column(a.column).kind === 'regular');
  const cells = cellsOf(table, assignments, binding);
  const conditions: BoundConditions = ifNotExists ? { kind: 'notExists' } : { kind: 'none' };
  return { table, partitionKey, clustering, op: { kind: 'write', clustering, marker: true, cells }, conditions };
}

function bindKey(table: TableDef, s: Exclude<ModificationStatement, { type: 'insert' }>, binding: Binding): { partitionKey: Buffer[]; clustering: Buffer[] } {
  const columns = s.type === 'delete' ? s.columns : [];
  const key = modificationKey(table, s.where, s.type, { columns, conditional: s.conditions.kind !== 'none' });
  return {
    partitionKey: key.partition.map((term, i) => binding.key(term, table.partitionKey[i] as ColumnDef)),
    clustering: key.clustering.map((term, i) => binding.key(term, table.clustering[i] as ColumnDef)),
  };
}

/** Cells to write: unset values are skipped, null values become cell tombstones. */
function cellsOf(table: TableDef, assignments: { column: string; term: Term }[], binding: Binding): Map<string, Buffer | null> {
  const cells = new Map<string, Buffer | null>();
  for (const a of assignments) {
    const value = binding.value(a.term, table.column(a.column));
    if (value !== UNSET) cells.set(a.column, value);
  }
  return cells;
}

function bindConditions(table: TableDef, conditions: Conditions, binding: Binding): BoundConditions {
  if (conditions.kind !== 'columns') return conditions;
  return {
    kind: 'columns',
    conditions: conditions.conditions.map((r) => {
      const column = table.column(r.column);
      if (column.kind !== 'regular') throw invalid(`PRIMARY KEY column '${r.column}' cannot have IF conditions`);
      const value = binding.value(r.term, column);
      if (value === UNSET) throw invalid(`Invalid 'unset' value in condition`);
      if (value === null && r.op !== '=' && r.op !== '!=') throw invalid(`Invalid comparison with null for operator "${r.op}"`);
      return { column, op: r.op, value };
    }),
  };
}

/**
 * Whether one IF condition holds for the current value (null: no value or
 * no row). `= null` holds for a missing value, `!= x` for a missing value
 * and a non-null x; every other comparison with a missing value is false.
 */
export function conditionHolds(condition: BoundCondition, current: Buffer | undefined): boolean {
  const { op, value } = condition;
  if (value === null) return op === '=' ? current === undefined : current !== undefined;
  if (current === undefined) return op === '!=';
  const c = compareValues(condition.column.type, current, value);
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}
