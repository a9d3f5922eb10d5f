import type { SelectStatement } from './cql-ast.js';
import type { Binding } from './cql-bind.js';
import { UNSET, decodeLimit } from './cql-codec.js';
import { invalid, protocolError, refused } from './cql-errors.js';
import { type Bound, sliceRestrictions } from './cql-restrictions.js';
import type { ColumnDef, TableDef } from './cql-schema.js';
import type { LiveRow, Partition } from './cql-storage.js';
import { compareValues } from './cql-types.js';

/** A page of a SELECT: the selected columns, the rows (values by column, still serialized), and where the next page starts. */
export interface SelectPage {
  columns: ColumnDef[];
  rows: (Buffer | null)[][];
  /** Opaque paging state (null on the last page). */
  pageState: Buffer | null;
}

/** The paging of one request: page size and the state a previous page returned. */
export interface Paging {
  fetchSize: number;
  pageState?: string | Buffer | undefined;
}

/**
 * Checks a SELECT against the node's rules (cql-restrictions.ts; ORDER BY
 * only on clustering columns in their declared order, all in clustering
 * order or all reversed, with the partition key restricted) and the
 * emulator's (no ALLOW FILTERING), then reads one slice of one partition in
 * clustering order (or its reverse), applies LIMIT, then cuts the page.
 * A page's state records the last clustering key returned, so the next page
 * resumes after it even if rows were written in between, as on a node.
 */
export function executeSelect(table: TableDef, s: SelectStatement, binding: Binding, paging: Paging): SelectPage {
  const columns = s.columns === '*' ? table.allColumns : s.columns.map((name) => table.column(name));
  if (s.allowFiltering) throw refused('ALLOW FILTERING (the store must never filter)');
  const reversed = orderByReversal(table, s);
  const r = sliceRestrictions(table, s.where);
  const partitionKey = r.partition.map((term, i) => binding.key(term, table.partitionKey[i] as ColumnDef));
  const eq = r.clusteringEq.map((term, i) => binding.key(term, table.clustering[i] as ColumnDef));
  const lower = r.range && bound(binding, r.range.lower, r.range.column);
  const upper = r.range && bound(binding, r.range.upper, r.range.column);
  const limit = s.limit ? decodeLimit(binding.value(s.limit, { name: '[limit]', type: 'int', kind: 'regular', position: -1 })) : undefined;

  const partition = table.data.partition(partitionKey);
  if (!partition) return { columns, rows: [], pageState: null };
  const matches = (row: LiveRow): boolean => {
    for (let i = 0; i < eq.length; i++) {
      if (compareValues((table.clustering[i] as ColumnDef).type, row.clustering[i] as Buffer, eq[i] as Buffer) !== 0) return false;
    }
    if (!r.range) return true;
    const value = row.clustering[r.range.column.position] as Buffer;
    const type = r.range.column.type;
    if (lower) {
      const c = compareValues(type, value, lower.value);
      if (c < 0 || (c === 0 && !lower.inclusive)) return false;
    }
    if (upper) {
      const c = compareValues(type, value, upper.value);
      if (c > 0 || (c === 0 && !upper.inclusive)) return false;
    }
    return true;
  };
  let rows = [...partition.liveRows()].filter(matches);
  if (reversed) rows.reverse();

  const state = decodePageState(paging.pageState);
  let remaining = limit;
  if (state) {
    rows = rows.filter((row) => (reversed ? -1 : 1) * partition.compare(row.clustering, state.after) > 0);
    if (remaining !== undefined) remaining -= state.returned;
  }
  if (remaining !== undefined) rows = rows.slice(0, Math.max(remaining, 0));
  const size = paging.fetchSize > 0 ? paging.fetchSize : Infinity;
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  const pageState = rows.length > page.length && last ? encodePageState(last.clustering, (state?.returned ?? 0) + page.length) : null;
  return { columns, rows: page.map((row) => values(partition, row, columns)), pageState };
}

function values(partition: Partition, row: LiveRow, columns: ColumnDef[]): (Buffer | null)[] {
  return columns.map((c) => {
    if (c.kind === 'partition') return partition.key[c.position] as Buffer;
    if (c.kind === 'clustering') return row.clustering[c.position] as Buffer;
    return row.cells.get(c.name) ?? null;
  });
}

function bound(binding: Binding, b: Bound | undefined, column: ColumnDef): { value: Buffer; inclusive: boolean } | undefined {
  if (!b) return undefined;
  const value = binding.value(b.term, column);
  if (value === UNSET) throw invalid(`Invalid unset value for column ${column.name}`);
  if (value === null) throw invalid(`Invalid null value in condition for column ${column.name}`);
  return { value, inclusive: b.inclusive };
}

/** Whether ORDER BY reverses the clustering order; the node's refusals otherwise. */
function orderByReversal(table: TableDef, s: SelectStatement): boolean {
  if (s.orderBy.length === 0) return false;
  const keyed = new Set(s.where.filter((r) => r.op === '=').map((r) => r.column));
  if (!table.partitionKey.every((c) => keyed.has(c.name))) throw invalid('ORDER BY is only supported when the partition key is restricted by an EQ or an IN.');
  let reversed: boolean | undefined;
  s.orderBy.forEach((o, i) => {
    const column = table.column(o.column);
    if (column.kind !== 'clustering') throw invalid(`Order by is currently only supported on the clustered columns of the PRIMARY KEY, got ${o.column}`);
    if (column.position !== i) throw invalid('Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY');
    const flips = o.desc !== table.clusteringDesc[i];
    if (reversed !== undefined && reversed !== flips) throw invalid('Unsupported order by relation');
    reversed = flips;
  });
  return reversed ?? false;
}

/** The paging state: the last clustering key returned and how many rows were returned so far (for LIMIT). */
function encodePageState(after: Buffer[], returned: number): Buffer {
  return Buffer.from(JSON.stringify({ emulator: 1, after: after.map((b) => b.toString('hex')), returned }), 'utf8');
}

function decodePageState(given: string | Buffer | undefined): { after: Buffer[]; returned: number } | undefined {
  if (given === undefined || given === null || given.length === 0) return undefined;
  try {
    const raw = typeof given === 'string' ? Buffer.from(given, 'hex') : given;
    const parsed = JSON.parse(raw.toString('utf8')) as { emulator?: number; after?: unknown; returned?: unknown };
    if (parsed.emulator !== 1 || !Array.isArray(parsed.after) || typeof parsed.returned !== 'number') throw new Error('not ours');
    return { after: parsed.after.map((h) => Buffer.from(String(h), 'hex')), returned: parsed.returned };
  } catch {
    throw protocolError('Invalid value for the paging state');
  }
}
