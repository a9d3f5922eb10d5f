import type { CqlType } from './cql-ast.js';
import { type CompiledWrite, conditionHolds } from './cql-modify.js';
import type { ColumnDef } from './cql-schema.js';
import type { LiveRow } from './cql-storage.js';

/**
 * Whose answer to a lightweight transaction the emulator gives:
 * - `cassandra`: applied → one row `{[applied]: true}`; not applied → the
 *   current values (all columns for IF NOT EXISTS, the condition columns for
 *   IF conditions; the primary key too in a batch), or only
 *   `[applied]: false` when the row does not exist;
 * - `scylla`: always `[applied]` plus the columns of the conditions (all
 *   columns for IF [NOT] EXISTS) holding the row's values *before* the
 *   statement, null where the row does not exist, applied or not; a batch
 *   answers one such row per conditional statement, in statement order.
 */
export type LwtResultShape = 'cassandra' | 'scylla';

/** A result of rows still serialized: column names and types, and values in column order. */
export interface RawRows {
  columns: { name: string; type: CqlType }[];
  rows: (Buffer | null)[][];
}

/** A conditional write checked against the row as it is now. */
export interface CasCheck {
  write: CompiledWrite;
  current: LiveRow | undefined;
  holds: boolean;
}

/** Reads the row a conditional write is about and evaluates its IF clause (a row without conditions holds). */
export function checkConditions(write: CompiledWrite): CasCheck {
  const current = write.table.data.partition(write.partitionKey)?.liveRow(write.clustering);
  const c = write.conditions;
  const holds =
    c.kind === 'none' ||
    (c.kind === 'exists' && current !== undefined) ||
    (c.kind === 'notExists' && current === undefined) ||
    (c.kind === 'columns' && c.conditions.every((cond) => conditionHolds(cond, current?.cells.get(cond.column.name))));
  return { write, current, holds };
}

const APPLIED = { name: '[applied]', type: 'boolean' as const };

/**
 * The result rows of a lightweight transaction (one statement, or the
 * conditional statements of a batch, all on one partition) in the chosen
 * shape; see LwtResultShape.
 */
export function casResult(shape: LwtResultShape, checks: CasCheck[], applied: boolean, isBatch: boolean): RawRows {
  const flag = Buffer.from([applied ? 1 : 0]);
  const conditional = checks.filter((c) => c.write.conditions.kind !== 'none');
  const first = conditional[0];
  if (!first) return { columns: [APPLIED], rows: [[flag]] };
  const table = first.write.table;
  const wildcard = conditional.some((c) => c.write.conditions.kind === 'exists' || c.write.conditions.kind === 'notExists');
  const conditionColumns = unique(conditional.flatMap((c) => (c.write.conditions.kind === 'columns' ? c.write.conditions.conditions.map((x) => x.column) : [])));

  if (shape === 'scylla') {
    const columns = wildcard ? table.allColumns : table.allColumns.filter((c) => conditionColumns.includes(c));
    return {
      columns: [APPLIED, ...columns.map(spec)],
      rows: conditional.map((c) => [flag, ...columns.map((column) => valueOf(c, column))]),
    };
  }
  if (applied) return { columns: [APPLIED], rows: [[flag]] };
  const existing = uniqueRows(conditional.filter((c) => c.current !== undefined));
  if (existing.length === 0) return { columns: [APPLIED], rows: [[flag]] };
  const columns = wildcard ? table.allColumns : unique([...(isBatch ? [...table.partitionKey, ...table.clustering] : []), ...conditionColumns]);
  return {
    columns: [APPLIED, ...columns.map(spec)],
    rows: existing.map((c) => [flag, ...columns.map((column) => valueOf(c, column))]),
  };
}

function spec(c: ColumnDef): { name: string; type: CqlType } {
  return { name: c.name, type: c.type };
}

function valueOf(check: CasCheck, column: ColumnDef): Buffer | null {
  const row = check.current;
  if (!row) return null;
  if (column.kind === 'partition') return check.write.partitionKey[column.position] ?? null;
  if (column.kind === 'clustering') return row.clustering[column.position] ?? null;
  return row.cells.get(column.name) ?? null;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** One check per distinct current row, in clustering order (Cassandra answers a batch per row). */
function uniqueRows(checks: CasCheck[]): CasCheck[] {
  const byKey = new Map<string, CasCheck>();
  for (const c of checks) byKey.set((c.current as LiveRow).clustering.map((b) => b.toString('hex')).join(','), c);
  const partition = checks[0]?.write.table.data.partition(checks[0].write.partitionKey);
  return [...byKey.values()].sort((a, b) => (partition ? partition.compare((a.current as LiveRow).clustering, (b.current as LiveRow).clustering) : 0));
}
