import type { Relation, Term } from './cql-ast.js';
import { invalid, refused, unsupported } from './cql-errors.js';
import type { ColumnDef, TableDef } from './cql-schema.js';

// The WHERE rules of Cassandra/ScyllaDB for the statements the store runs,
// applied strictly: a read names its whole partition key by equality and
// restricts clustering columns only as a prefix of equalities followed by at
// most one range, so every read is a single slice of one partition. What a
// node would run only with ALLOW FILTERING, or as a full scan, is refused.

/** One bound of a range restriction. */
export interface Bound {
  term: Term;
  inclusive: boolean;
}

/** A SELECT's key restrictions: the partition, an equality prefix of clustering columns, then at most one range. */
export interface SliceRestrictions {
  partition: Term[];
  clusteringEq: Term[];
  range?: { column: ColumnDef; lower?: Bound; upper?: Bound };
}

/** A modification's key: the whole partition key, and a clustering prefix (complete unless deleting a range of rows). */
export interface ModificationKey {
  partition: Term[];
  clustering: Term[];
}

const FILTERING =
  'Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. ' +
  'If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING';

/** Groups relations by column, checking the columns exist. */
function byColumn(table: TableDef, where: Relation[]): Map<ColumnDef, Relation[]> {
  const out = new Map<ColumnDef, Relation[]>();
  for (const r of where) {
    const column = table.column(r.column);
    out.set(column, [...(out.get(column) ?? []), r]);
  }
  return out;
}

/** The single `=` relation of a key column, refusing any other operator or a second relation. */
function equality(column: ColumnDef, relations: Relation[], otherwise: string): Term {
  if (relations.length > 1) throw invalid(`${column.name} cannot be restricted by more than one relation if it includes an Equal`);
  const r = relations[0] as Relation;
  if (r.op !== '=') throw invalid(otherwise);
  return r.term;
}

const PARTITION_OPS = 'Only EQ and IN relation are supported on the partition key (unless you use the token() function)';

/**
 * The restrictions of a SELECT, or the error a node gives (invalid):
 * restrictions on regular columns (filtering), `!=`, a partition key
 * restricted partly, a clustering column restricted after an unrestricted
 * one or after a range, two bounds on one side. No partition-key restriction
 * at all (a full table scan, which a node runs) is refused too: the store
 * must never scan.
 */
export function sliceRestrictions(table: TableDef, where: Relation[]): SliceRestrictions {
  const columns = byColumn(table, where);
  for (const [column, relations] of columns) {
    if (column.kind === 'regular') throw invalid(`${FILTERING} (emulator: restriction on regular column ${column.name}; the store must never filter)`);
    const ne = relations.find((r) => r.op === '!=');
    if (ne) throw invalid(`Unsupported "!=" relation: ${ne.column} != ...`);
  }
  const restricted = table.partitionKey.filter((c) => columns.has(c));
  if (restricted.length === 0) throw refused(`a SELECT on ${table.qualifiedName} without its partition key (${table.partitionKey.map((c) => c.name).join(', ')}) restricted by =: a full table scan`);
  const missing = table.partitionKey.filter((c) => !columns.has(c));
  if (missing.length > 0) throw invalid(`Partition key parts: ${missing.map((c) => c.name).join(', ')} must be restricted as other parts are`);
  const partition = table.partitionKey.map((c) => equality(c, columns.get(c) as Relation[], PARTITION_OPS));

  const out: SliceRestrictions = { partition, clusteringEq: [] };
  let previous: { column: ColumnDef; why: 'unrestricted' | 'range' } | undefined;
  for (const column of table.clustering) {
    const relations = columns.get(column);
    if (!relations) {
      previous ??= { column, why: 'unrestricted' };
      continue;
    }
    if (previous?.why === 'unrestricted') throw invalid(`PRIMARY KEY column "${column.name}" cannot be restricted as preceding column "${previous.column.name}" is not restricted`);
    if (previous?.why === 'range') throw invalid(`Clustering column "${column.name}" cannot be restricted (preceding column "${previous.column.name}" is restricted by a non-EQ relation)`);
    if (relations.some((r) => r.op === '=')) {
      out.clusteringEq.push(equality(column, relations, ''));
      continue;
    }
    out.range = { column, ...rangeBounds(column, relations) };
    previous = { column, why: 'range' };
  }
  return out;
}

function rangeBounds(column: ColumnDef, relations: Relation[]): { lower?: Bound; upper?: Bound } {
  const bounds: { lower?: Bound; upper?: Bound } = {};
  for (const r of relations) {
    const side = r.op === '>' || r.op === '>=' ? 'lower' : 'upper';
    if (bounds[side]) throw invalid(`More than one restriction was found for the ${side === 'lower' ? 'start' : 'end'} bound on ${column.name}`);
    bounds[side] = { term: r.term, inclusive: r.op === '>=' || r.op === '<=' };
  }
  return bounds;
}

/**
 * The key of an UPDATE or DELETE: every partition key column by `=`, and
 * the clustering columns by `=` (all of them for UPDATE, for a DELETE of
 * columns, and for a conditional DELETE; a prefix for a DELETE of rows).
 * Ranges, regular columns and gaps are refused with the node's messages.
 */
export function modificationKey(table: TableDef, where: Relation[], kind: 'update' | 'delete', needsFullKey: { columns: string[]; conditional: boolean }): ModificationKey {
  const columns = byColumn(table, where);
  const regular = [...columns.keys()].filter((c) => c.kind === 'regular');
  if (regular.length > 0) throw invalid(`Non PRIMARY KEY columns found in where clause: ${regular.map((c) => c.name).join(', ')}`);
  for (const [column, relations] of columns) {
    if (column.kind !== 'clustering' || relations.every((r) => r.op === '=')) continue;
    if (kind === 'delete') throw unsupported(`range deletions (${column.name} ${relations.find((r) => r.op !== '=')?.op} ...)`);
    throw invalid(`Slice restrictions are not supported on the clustering columns in UPDATE statements (${column.name})`);
  }
  const partition = table.partitionKey.map((c) => {
    const relations = columns.get(c);
    if (!relations) throw invalid(`Missing mandatory PRIMARY KEY part ${c.name}`);
    return equality(c, relations, PARTITION_OPS);
  });
  const clustering: Term[] = [];
  for (const column of table.clustering) {
    const relations = columns.get(column);
    if (!relations) break;
    clustering.push(equality(column, relations, ''));
  }
  const after = table.clustering.slice(clustering.length).find((c) => columns.has(c));
  const gap = table.clustering[clustering.length];
  if (after && gap) throw invalid(`PRIMARY KEY column "${after.name}" cannot be restricted as preceding column "${gap.name}" is not restricted`);
  if (gap) {
    if (kind === 'update') throw invalid(`Missing mandatory PRIMARY KEY part ${gap.name}`);
    if (needsFullKey.conditional) throw invalid('DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions');
    const first = needsFullKey.columns[0];
    if (first !== undefined) throw invalid(`Primary key column '${gap.name}' must be specified in order to modify column '${first}'`);
  }
  return { partition, clustering };
}
