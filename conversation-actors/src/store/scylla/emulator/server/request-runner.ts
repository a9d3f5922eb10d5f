import { type QueryOptions, errors, types } from 'cassandra-driver';
import { type CqlType, type DdlStatement, type Statement, isConditional, isDdl } from '../cql-ast.js';
import { UNSET, decodeValue, typeInfo } from '../cql-codec.js';
import type { EngineResult } from '../cql-engine.js';
import { invalid } from '../cql-errors.js';
import { parseCql } from '../cql-parser.js';
import { validateValue } from '../cql-types.js';
import type { EmulatedCluster } from '../emulated-cluster.js';
import { type ErrorContext, asResponseError, errorBody } from './error-frames.js';
import { Opcode } from './frames.js';
import type { PreparedStatement, PreparedStatements } from './prepared-statements.js';
import type { BatchRequest, ExecuteRequest, QueryParameters, QueryRequest } from './requests.js';
import { type SchemaChange, type TableSpec, preparedResult, rowsResult, schemaChangeResult, setKeyspaceResult, voidResult } from './results.js';
import { parseUse, tableSpecOf } from './statement-analysis.js';
import { type SystemContext, type SystemSelect, answerSystemSelect, parseSystemSelect } from './system-tables.js';
import type { WireValue } from './wire-reader.js';

// QUERY, PREPARE, EXECUTE and BATCH against the emulated cluster. A request
// reaches the cluster as an EmulatedClient's would (cluster.runRaw, so it is
// logged, checked, faulted and executed the same way), with the options the
// frame carried: prepared or not, consistency, page size and state, and the
// client's write timestamp. USE and system-table reads are the server's own.

/** What the runner needs of the server: the cluster, the prepared cache, the node's system rows, and where schema changes go. */
export interface ServerState {
  cluster: EmulatedCluster;
  prepared: PreparedStatements;
  system(address: string): SystemContext;
  /** Called after DDL changed the schema (new schema_version, events to registered connections). */
  schemaChanged(change: SchemaChange): void;
}

/** A connection's state: its keyspace (USE) and the address the client reached the node at. */
export interface Session {
  keyspace: string | undefined;
  address: string;
}

/** A response to send: its opcode, body, and the warnings to flag on the frame. */
export interface Answer {
  opcode: number;
  body: Buffer;
  warnings?: string[];
}

/** One statement for the cluster: its text, the values as the cluster takes them, and its parse if it parsed. */
interface Prepped {
  query: string;
  params: unknown[];
  statement: Statement | undefined;
}

const codes = types.responseErrorCodes;

/** QUERY: USE, a system-table read, or CQL run unprepared (values validated as raw bytes against their columns, as a node does). */
export function runQuery(server: ServerState, session: Session, req: QueryRequest): Answer {
  const ctx: ErrorContext = { consistency: req.params.consistency, writeType: 'SIMPLE' };
  return answering(ctx, () => {
    const use = parseUse(req.query);
    if (use !== undefined) return useKeyspace(server, session, use);
    const select = parseSystemSelect(req.query);
    if (select) return systemRows(server, session, select);
    const statement = tryParse(req.query);
    if (statement && isConditional(statement)) ctx.writeType = 'CAS';
    const params = req.params.values.map(raw);
    return runStatement(server, session.keyspace, { query: req.query, params, statement }, req.params, false);
  });
}

/** PREPARE: describes the statement (bind markers, partition key, result columns) under its id. */
export function runPrepare(server: ServerState, session: Session, query: string): Answer {
  return answering({ consistency: types.consistencies.one, writeType: 'SIMPLE' }, () => {
    const prepared = server.prepared.prepare(query, session.keyspace, server.cluster.schema);
    return { opcode: Opcode.result, body: preparedResult(prepared.description) };
  });
}

/** EXECUTE: a prepared statement, its values decoded by the types PREPARE announced; Unprepared for an unknown id. */
export function runExecute(server: ServerState, session: Session, req: ExecuteRequest): Answer {
  const ctx: ErrorContext = { consistency: req.params.consistency, writeType: 'SIMPLE', preparedId: req.id };
  return answering(ctx, () => {
    const prepared = lookup(server, req.id);
    const target = prepared.target;
    if (target.kind === 'use') return useKeyspace(server, session, target.keyspace);
    if (target.kind === 'system') return systemRows(server, session, target.select);
    if (target.conditional) ctx.writeType = 'CAS';
    const params = decodeValues(req.params.values, prepared);
    return runStatement(server, prepared.keyspace, { query: prepared.query, params, statement: target.statement }, req.params, true);
  });
}

/**
 * BATCH: prepared ids and query strings, run as one emulated batch. It is
 * "prepared" (as the cluster's prepared-only rule sees it) only when every
 * statement is; then values are decoded by their prepared types, else all
 * are passed as raw bytes. Unqualified names resolve against the keyspace
 * the prepared statements share, else the connection's.
 */
export function runBatch(server: ServerState, session: Session, req: BatchRequest): Answer {
  const ctx: ErrorContext = { consistency: req.consistency, writeType: req.logged ? 'BATCH' : 'UNLOGGED_BATCH' };
  return answering(ctx, () => {
    const prepared = req.statements.map((s) => (s.kind === 'prepared' ? lookup(server, s.id, ctx) : undefined));
    const allPrepared = prepared.every((p) => p !== undefined);
    const statements = req.statements.map((s, i): Prepped => {
      if (s.kind === 'query') return { query: s.query, params: s.values.map(raw), statement: tryParse(s.query) };
      const p = prepared[i] as PreparedStatement;
      if (p.target.kind !== 'cql') throw invalid('Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.');
      return { query: p.query, params: allPrepared ? decodeValues(s.values, p) : s.values.map(raw), statement: p.target.statement };
    });
    if (statements.some((s) => s.statement && isConditional(s.statement))) ctx.writeType = 'CAS';
    const keyspaces = new Set(prepared.map((p) => p?.keyspace).filter((k) => k !== undefined));
    const keyspace = keyspaces.size === 1 ? [...keyspaces][0] : session.keyspace;
    const options: QueryOptions = { ...optionsOf(req.consistency, req.serialConsistency, req.timestamp, allPrepared), logged: req.logged };
    const result = server.cluster.runRaw({ statements, batch: true, options, keyspace, clockSkewMs: 0 });
    const lwt = statements.find((s) => s.statement && isConditional(s.statement));
    return resultAnswer(result, lwt?.statement ? tableSpecOf(lwt.statement, keyspace) : undefined);
  });
}

/** Runs `fn`, answering its failure as an ERROR frame with the request's context. */
function answering(ctx: ErrorContext, fn: () => Answer): Answer {
  try {
    return fn();
  } catch (err) {
    return { opcode: Opcode.error, body: errorBody(asResponseError(err), ctx) };
  }
}

/** One statement through the cluster; DDL answers its schema change (or Void when IF [NOT] EXISTS changed nothing). */
function runStatement(server: ServerState, keyspace: string | undefined, s: Prepped, p: QueryParameters, prepared: boolean): Answer {
  const options: QueryOptions = { ...optionsOf(p.consistency, p.serialConsistency, p.timestamp, prepared), fetchSize: p.pageSize ?? 0 };
  if (p.pagingState) options.pageState = p.pagingState.toString('hex');
  const ddl = s.statement && isDdl(s.statement) ? s.statement : undefined;
  const objectOf = ddl ? schemaObject(server, ddl, keyspace) : undefined;
  const before = objectOf?.current();
  const result = server.cluster.runRaw({ statements: [s], batch: false, options, keyspace, clockSkewMs: 0 });
  if (objectOf) {
    const after = objectOf.current();
    if (after === before) return { opcode: Opcode.result, body: voidResult() };
    const change: SchemaChange = { ...objectOf.change, change: after === undefined ? 'DROPPED' : before === undefined ? 'CREATED' : 'UPDATED' };
    server.schemaChanged(change);
    return { opcode: Opcode.result, body: schemaChangeResult(change) };
  }
  return resultAnswer(result, s.statement ? tableSpecOf(s.statement, keyspace) : undefined);
}

function optionsOf(consistency: number, serial: number | undefined, timestamp: bigint | undefined, prepare: boolean): QueryOptions {
  const options: QueryOptions = { prepare, consistency };
  if (serial !== undefined) options.serialConsistency = serial;
  // Microseconds since the epoch fit a double exactly (2^53 µs is year 2255).
  if (timestamp !== undefined) options.timestamp = Number(timestamp);
  return options;
}

/** Rows (SELECT, LWT) or Void, with the cluster's warnings (an oversized batch) on the frame. */
function resultAnswer(result: EngineResult, spec: TableSpec | undefined): Answer {
  const warnings = result.warnings.length > 0 ? { warnings: result.warnings } : {};
  if (!result.rows) return { opcode: Opcode.result, body: voidResult(), ...warnings };
  const columns = result.rows.columns.map((c) => ({ name: c.name, type: typeInfo(c.type) }));
  const page = { spec: spec ?? { keyspace: '', table: '' }, columns, rows: result.rows.rows, pagingState: result.pageState };
  return { opcode: Opcode.result, body: rowsResult(page), ...warnings };
}

function useKeyspace(server: ServerState, session: Session, keyspace: string): Answer {
  server.cluster.assertReachable();
  if (!server.cluster.schema.keyspaces.has(keyspace)) throw invalid(`Keyspace '${keyspace}' does not exist`);
  session.keyspace = keyspace;
  return { opcode: Opcode.result, body: setKeyspaceResult(keyspace) };
}

function systemRows(server: ServerState, session: Session, select: SystemSelect): Answer {
  return { opcode: Opcode.result, body: rowsResult(answerSystemSelect(select, server.system(session.address))) };
}

function lookup(server: ServerState, id: Buffer, ctx?: ErrorContext): PreparedStatement {
  const prepared = server.prepared.get(id);
  if (prepared) return prepared;
  if (ctx) ctx.preparedId = id;
  const err = new errors.ResponseError(codes.unprepared, `Prepared query with ID ${id.toString('hex')} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)`);
  throw Object.assign(err, { queryId: id });
}

/** A QUERY's value as the cluster takes an unprepared parameter: the bytes as sent (checked against the column), null, or unset. */
function raw(value: WireValue): unknown {
  return value === UNSET ? types.unset : value;
}

/**
 * EXECUTE's values as the JS values the client bound: each validated as a
 * node validates it, then decoded by its marker's type with the driver's
 * Encoder (the cluster encodes them again, so its log and its faults see
 * what the client passed). Extra values stay raw: the count check refuses them.
 */
function decodeValues(values: readonly WireValue[], prepared: PreparedStatement): unknown[] {
  const markerTypes: readonly CqlType[] = prepared.target.kind === 'cql' ? prepared.target.markerTypes : [];
  return values.map((value, i) => {
    if (value === UNSET) return types.unset;
    const type = markerTypes[i];
    if (value === null || type === undefined) return value;
    validateValue(type, value, prepared.description.bindColumns[i]?.name ?? `[marker${i}]`);
    return decodeValue(value, type);
  });
}

function tryParse(query: string): Statement | undefined {
  try {
    return parseCql(query).statement;
  } catch {
    // The cluster refuses it again, with the same error, and logs it.
    return undefined;
  }
}

/** The schema object a DDL statement creates or drops, to tell afterwards whether it changed. */
function schemaObject(server: ServerState, s: DdlStatement, keyspace: string | undefined): { change: Omit<SchemaChange, 'change'>; current(): unknown } {
  const keyspaces = server.cluster.schema.keyspaces;
  if (s.type === 'createKeyspace' || s.type === 'dropKeyspace') return { change: { target: 'KEYSPACE', keyspace: s.name }, current: () => keyspaces.get(s.name) };
  const ks = s.table.keyspace ?? keyspace ?? '';
  return { change: { target: 'TABLE', keyspace: ks, table: s.table.name }, current: () => keyspaces.get(ks)?.tables.get(s.table.name) };
}
