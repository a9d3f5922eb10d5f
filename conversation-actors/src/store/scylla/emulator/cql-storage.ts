import { compareValues } from './cql-types.js';
import type { TableDef } from './cql-schema.js';

// The data of one table as a node keeps it: partitions by key, each holding
// rows sorted by clustering key (ASC/DESC per column), every cell with its
// write timestamp, row markers (the liveness an INSERT gives a row), and
// tombstones for cells, rows, clustering prefixes and whole partitions.
// Nothing is ever overwritten in place without reconciliation, and nothing is
// purged (no gc_grace_seconds): reads see exactly what Cassandra would.

/** A cell: a value (or null, a cell tombstone) and its write timestamp (microseconds). */
export interface Cell {
  ts: number;
  value: Buffer | null;
}

/** A stored row: its clustering values, the timestamp of its row marker if any, its cells by column. */
export interface StoredRow {
  clustering: Buffer[];
  marker?: number;
  cells: Map<string, Cell>;
}

/** A row as a read sees it: only its live cells. */
export interface LiveRow {
  clustering: Buffer[];
  cells: Map<string, Buffer>;
}

/**
 * One write to a partition, before it gets its timestamp:
 * - `write`: cells of one row (null values are cell tombstones), with a row
 *   marker for INSERT (UPDATE writes none);
 * - `delete`: a tombstone for every row whose clustering key starts with
 *   `prefix` (empty: the whole partition; complete: one row).
 */
export type RowOp =
  | { kind: 'write'; clustering: Buffer[]; marker: boolean; cells: Map<string, Buffer | null> }
  | { kind: 'delete'; prefix: Buffer[] };

/** The key of a list of serialized values (partition keys, clustering keys and prefixes). */
export function keyOf(values: readonly Buffer[]): string {
  return `${values.length}:${values.map((v) => v.toString('hex')).join(',')}`;
}

/**
 * Cassandra's reconciliation of two versions of a cell: the higher timestamp
 * wins; at equal timestamps a tombstone beats a live value, and between two
 * live values the greater one (unsigned byte order of the serialized value)
 * wins. The result does not depend on the order the writes arrive in.
 */
export function reconcile(a: Cell | undefined, b: Cell): Cell {
  if (!a) return b;
  if (a.ts !== b.ts) return a.ts > b.ts ? a : b;
  if (a.value === null) return a;
  if (b.value === null) return b;
  return Buffer.compare(b.value, a.value) > 0 ? b : a;
}

/** One partition: rows in clustering order, tombstones by clustering prefix, and who has written it. */
export class Partition {
  readonly rows: StoredRow[] = [];
  /** Tombstone timestamps by keyOf(prefix): keyOf([]) is the partition tombstone, a full key a row tombstone. */
  readonly deletions = new Map<string, number>();
  /** Written by a lightweight transaction / by a plain write (Cassandra forbids mixing them on one partition). */
  writtenByLwt = false;
  writtenPlain = false;

  constructor(
    readonly table: TableDef,
    readonly key: Buffer[],
  ) {}

  /** Compares two clustering keys in this table's clustering order (DESC columns reversed). */
  compare(a: readonly Buffer[], b: readonly Buffer[]): number {
    for (let i = 0; i < a.length && i < b.length; i++) {
      const column = this.table.clustering[i];
      if (!column) break;
      const c = compareValues(column.type, a[i] as Buffer, b[i] as Buffer);
      if (c !== 0) return this.table.clusteringDesc[i] ? -c : c;
    }
    return a.length - b.length;
  }

  /** Applies one operation at write timestamp `ts`, reconciling with what is stored. */
  apply(op: RowOp, ts: number): void {
    if (op.kind === 'delete') {
      const key = keyOf(op.prefix);
      this.deletions.set(key, Math.max(this.deletions.get(key) ?? -Infinity, ts));
      return;
    }
    const row = this.rowAt(op.clustering, true) as StoredRow;
    if (op.marker) row.marker = Math.max(row.marker ?? -Infinity, ts);
    for (const [column, value] of op.cells) row.cells.set(column, reconcile(row.cells.get(column), { ts, value }));
  }

  /** The highest tombstone covering `row` (partition, any clustering prefix, or the row itself); -Infinity if none. */
  deletionOf(clustering: readonly Buffer[]): number {
    let ts = -Infinity;
    for (let i = 0; i <= clustering.length; i++) ts = Math.max(ts, this.deletions.get(keyOf(clustering.slice(0, i))) ?? -Infinity);
    return ts;
  }

  /**
   * The row as a read sees it, or undefined if it is not visible. A cell is
   * live if it is not null and newer than every tombstone covering the row
   * (a tombstone wins a tie). A row is visible iff its marker is live or it
   * has at least one live cell: an UPDATE-only row whose cells are all
   * nulled or deleted vanishes.
   */
  live(row: StoredRow): LiveRow | undefined {
    const deletion = this.deletionOf(row.clustering);
    const cells = new Map<string, Buffer>();
    for (const [column, cell] of row.cells) if (cell.value !== null && cell.ts > deletion) cells.set(column, cell.value);
    const marked = row.marker !== undefined && row.marker > deletion;
    return marked || cells.size > 0 ? { clustering: row.clustering, cells } : undefined;
  }

  /** The visible row at exactly this clustering key (the empty key for tables without clustering columns). */
  liveRow(clustering: readonly Buffer[]): LiveRow | undefined {
    const row = this.rowAt(clustering, false);
    return row && this.live(row);
  }

  /** Every visible row, in clustering order. */
  *liveRows(): Generator<LiveRow> {
    for (const row of this.rows) {
      const live = this.live(row);
      if (live) yield live;
    }
  }

  /** The stored row at `clustering` (binary search), created in order if `create`. */
  private rowAt(clustering: readonly Buffer[], create: boolean): StoredRow | undefined {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = this.compare((this.rows[mid] as StoredRow).clustering, clustering);
      if (c === 0) return this.rows[mid];
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    if (!create) return undefined;
    const row: StoredRow = { clustering: [...clustering], cells: new Map() };
    this.rows.splice(lo, 0, row);
    return row;
  }
}

/** The partitions of one table, by partition key. */
export class TableData {
  private readonly partitions = new Map<string, Partition>();

  constructor(readonly table: TableDef) {}

  /** The partition with this key; created (empty) if `create`, otherwise undefined when never written. */
  partition(key: readonly Buffer[], create: true): Partition;
  partition(key: readonly Buffer[], create?: boolean): Partition | undefined;
  partition(key: readonly Buffer[], create = false): Partition | undefined {
    const k = keyOf(key);
    let p = this.partitions.get(k);
    if (!p && create) {
      p = new Partition(this.table, [...key]);
      this.partitions.set(k, p);
    }
    return p;
  }

  /** How many partitions were ever written. */
  get size(): number {
    return this.partitions.size;
  }
}
