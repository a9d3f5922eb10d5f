import type { DriverType } from '../cql-codec.js';
import { WireWriter } from './wire-writer.js';

// The bodies of RESULT (section 4.2.5 of native_protocol_v4.spec), and of the
// SCHEMA_CHANGE event, which shares the schema change's layout.

/** The result kinds. */
const Kind = { void: 0x0001, rows: 0x0002, setKeyspace: 0x0003, prepared: 0x0004, schemaChange: 0x0005 } as const;

/** Flags of <metadata>. */
const MetaFlag = { globalTablesSpec: 0x0001, hasMorePages: 0x0002, noMetadata: 0x0004 } as const;

/** The table a result's (or a statement's bind markers') columns belong to. */
export interface TableSpec {
  keyspace: string;
  table: string;
}

/** A column of a result or a bind marker: its name and type. */
export interface ColumnSpec {
  name: string;
  type: DriverType;
}

/** A page of rows: every column of every row as bytes (or null), in column order. */
export interface RowsPage {
  spec: TableSpec;
  columns: readonly ColumnSpec[];
  rows: readonly (readonly (Buffer | null)[])[];
  /** Where the next page starts; null on the last page. */
  pagingState: Buffer | null;
}

/** A change of the schema, as the RESULT of DDL and as a pushed event. */
export interface SchemaChange {
  change: 'CREATED' | 'UPDATED' | 'DROPPED';
  target: 'KEYSPACE' | 'TABLE';
  keyspace: string;
  /** The table, for target TABLE. */
  table?: string;
}

/** What a prepared statement's RESULT describes. */
export interface PreparedDescription {
  id: Buffer;
  /** The table of the bind markers (absent when there are none). */
  bindSpec: TableSpec | undefined;
  /** One per bind marker, in marker order. */
  bindColumns: readonly ColumnSpec[];
  /** The marker index of each partition-key column, in key order; empty when the key is not fully bound by markers. */
  pkIndexes: readonly number[];
  /** The result's columns; undefined: NO_METADATA (each response carries its own, as for an LWT or a write). */
  result: { spec: TableSpec; columns: readonly ColumnSpec[] } | undefined;
}

/** RESULT Void: a write or a statement without rows. */
export function voidResult(): Buffer {
  return new WireWriter().int(Kind.void).toBuffer();
}

/**
 * RESULT Rows with full metadata (one global table spec), whatever the
 * request's skip_metadata flag said: v4 lets a server send it, and the
 * driver reads metadata from every response.
 */
export function rowsResult(page: RowsPage): Buffer {
  const w = new WireWriter().int(Kind.rows);
  const flags = (page.columns.length > 0 ? MetaFlag.globalTablesSpec : 0) | (page.pagingState ? MetaFlag.hasMorePages : 0);
  w.int(flags).int(page.columns.length);
  if (page.pagingState) w.bytes(page.pagingState);
  writeColumns(w, page.spec, page.columns);
  w.int(page.rows.length);
  for (const row of page.rows) {
    for (let i = 0; i < page.columns.length; i++) w.bytes(row[i] ?? null);
  }
  return w.toBuffer();
}

/** RESULT Set_keyspace: the answer to USE. */
export function setKeyspaceResult(keyspace: string): Buffer {
  return new WireWriter().int(Kind.setKeyspace).string(keyspace).toBuffer();
}

/**
 * RESULT Prepared: <id><metadata><result_metadata>. The bind metadata
 * carries the partition-key indexes (v4), which the driver's token-aware
 * routing uses instead of fetching the table's schema.
 */
export function preparedResult(p: PreparedDescription): Buffer {
  const w = new WireWriter().int(Kind.prepared).shortBytes(p.id);
  const bindGlobal = p.bindSpec !== undefined && p.bindColumns.length > 0;
  w.int(bindGlobal ? MetaFlag.globalTablesSpec : 0).int(p.bindColumns.length).int(p.pkIndexes.length);
  for (const index of p.pkIndexes) w.short(index);
  if (bindGlobal && p.bindSpec) writeColumns(w, p.bindSpec, p.bindColumns);
  if (!p.result) return w.int(MetaFlag.noMetadata).int(0).toBuffer();
  w.int(p.result.columns.length > 0 ? MetaFlag.globalTablesSpec : 0).int(p.result.columns.length);
  writeColumns(w, p.result.spec, p.result.columns);
  return w.toBuffer();
}

/** RESULT Schema_change: the DDL's change (the driver refreshes its metadata from it). */
export function schemaChangeResult(change: SchemaChange): Buffer {
  return writeSchemaChange(new WireWriter().int(Kind.schemaChange), change).toBuffer();
}

/** The body of EVENT SCHEMA_CHANGE, pushed on stream -1 to connections that registered for it. */
export function schemaChangeEvent(change: SchemaChange): Buffer {
  return writeSchemaChange(new WireWriter().string('SCHEMA_CHANGE'), change).toBuffer();
}

/** The body of SUPPORTED: what OPTIONS asks. No compression is offered. */
export function supportedBody(): Buffer {
  return new WireWriter()
    .stringMultimap(
      new Map([
        ['CQL_VERSION', ['3.4.5']],
        ['COMPRESSION', []],
        ['PROTOCOL_VERSIONS', ['4/v4']],
      ]),
    )
    .toBuffer();
}

/** The global table spec then each column; nothing without columns (the flag is only set with some). */
function writeColumns(w: WireWriter, spec: TableSpec, columns: readonly ColumnSpec[]): void {
  if (columns.length === 0) return;
  w.string(spec.keyspace).string(spec.table);
  for (const c of columns) w.string(c.name).type(c.type);
}

function writeSchemaChange(w: WireWriter, change: SchemaChange): WireWriter {
  w.string(change.change).string(change.target).string(change.keyspace);
  if (change.target === 'TABLE') w.string(change.table ?? '');
  return w;
}
