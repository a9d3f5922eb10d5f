// The parsed form of the CQL subset the emulator runs. Identifiers are
// already normalised (lowercased unless they were double-quoted); bind
// markers are numbered 0, 1, ... in the order they appear in the text, which
// is the order of the positional parameters.

/** The column types the emulator stores (others are refused as unsupported). */
export const CQL_TYPES = ['text', 'varchar', 'ascii', 'bigint', 'int', 'boolean', 'timestamp', 'blob', 'double', 'uuid', 'timeuuid'] as const;
/** One of CQL_TYPES. */
export type CqlType = (typeof CQL_TYPES)[number];

/** `[keyspace.]name`; the keyspace defaults to the client's. */
export interface QualifiedName {
  keyspace?: string;
  name: string;
}

/** A constant written in the statement. Numbers keep their text (a bigint may exceed a double). */
export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'integer'; value: string }
  | { kind: 'float'; value: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'hex'; value: string }
  | { kind: 'null' };

/** A value: a bind marker (its index among the statement's markers) or a literal. */
export type Term = { kind: 'bind'; index: number } | { kind: 'literal'; literal: Literal };

/** A comparison of a WHERE relation or an IF condition. */
export type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** `column op term`, in a WHERE clause or an IF condition. */
export interface Relation {
  column: string;
  op: Operator;
  term: Term;
}

/** The IF clause of a modification. */
export type Conditions = { kind: 'none' } | { kind: 'exists' } | { kind: 'notExists' } | { kind: 'columns'; conditions: Relation[] };

/** `SELECT cols|* FROM t [WHERE ...] [ORDER BY ...] [LIMIT n|?] [ALLOW FILTERING]`. */
export interface SelectStatement {
  type: 'select';
  table: QualifiedName;
  /** Column names in selection order, or '*' for every column. */
  columns: string[] | '*';
  where: Relation[];
  orderBy: { column: string; desc: boolean }[];
  limit?: Term;
  allowFiltering: boolean;
}

/** `INSERT INTO t (cols) VALUES (...) [IF NOT EXISTS]`. */
export interface InsertStatement {
  type: 'insert';
  table: QualifiedName;
  columns: string[];
  values: Term[];
  ifNotExists: boolean;
}

/** `UPDATE t SET c = v, ... WHERE ... [IF EXISTS | IF conditions]`. */
export interface UpdateStatement {
  type: 'update';
  table: QualifiedName;
  assignments: { column: string; term: Term }[];
  where: Relation[];
  conditions: Conditions;
}

/** `DELETE [cols] FROM t WHERE ... [IF EXISTS | IF conditions]`. */
export interface DeleteStatement {
  type: 'delete';
  table: QualifiedName;
  /** Columns to delete (cell tombstones); empty: the rows themselves. */
  columns: string[];
  where: Relation[];
  conditions: Conditions;
}

/** `CREATE KEYSPACE [IF NOT EXISTS] ks WITH replication = {...}`. */
export interface CreateKeyspaceStatement {
  type: 'createKeyspace';
  name: string;
  ifNotExists: boolean;
  /** The replication map, values as written (strings or numbers as text). */
  replication: Map<string, string>;
}

/** `DROP KEYSPACE [IF EXISTS] ks`. */
export interface DropKeyspaceStatement {
  type: 'dropKeyspace';
  name: string;
  ifExists: boolean;
}

/** `CREATE TABLE [IF NOT EXISTS] [ks.]t (...) [WITH CLUSTERING ORDER BY (...)]`; columns in definition order. */
export interface CreateTableStatement {
  type: 'createTable';
  table: QualifiedName;
  ifNotExists: boolean;
  columns: { name: string; type: CqlType }[];
  partitionKey: string[];
  clustering: string[];
  /** WITH CLUSTERING ORDER BY (...), as written (validated against the clustering columns later). */
  clusteringOrder: { column: string; desc: boolean }[];
}

/** `DROP TABLE [IF EXISTS] [ks.]t`. */
export interface DropTableStatement {
  type: 'dropTable';
  table: QualifiedName;
  ifExists: boolean;
}

/** The statements that write (and may be batched). */
export type ModificationStatement = InsertStatement | UpdateStatement | DeleteStatement;
/** The statements that change the schema. */
export type DdlStatement = CreateKeyspaceStatement | DropKeyspaceStatement | CreateTableStatement | DropTableStatement;
/** Every statement of the subset. */
export type Statement = SelectStatement | ModificationStatement | DdlStatement;

/** A parsed statement and how many bind markers it has. */
export interface ParsedStatement {
  statement: Statement;
  markers: number;
}

/** Whether a statement changes the schema (DDL may run unprepared even when the cluster requires prepared statements). */
export function isDdl(statement: Statement): statement is DdlStatement {
  return statement.type === 'createKeyspace' || statement.type === 'dropKeyspace' || statement.type === 'createTable' || statement.type === 'dropTable';
}

/** Whether a modification carries an IF clause (a lightweight transaction). */
export function isConditional(statement: Statement): boolean {
  if (statement.type === 'insert') return statement.ifNotExists;
  if (statement.type === 'update' || statement.type === 'delete') return statement.conditions.kind !== 'none';
  return false;
}
