import { protocolError, unsupported } from '../cql-errors.js';
import type { WireReader, WireValue } from './wire-reader.js';

// The bodies of the requests the server answers, decoded from v4 (section 4.1
// of native_protocol_v4.spec). What the emulator cannot honour is refused
// here, before anything runs: named values, counter batches, flags v4 does
// not define.

/** The <query_parameters> of QUERY and EXECUTE. */
export interface QueryParameters {
  consistency: number;
  /** The positional values; empty without the VALUES flag. */
  values: WireValue[];
  /** The client asked for rows without metadata; the server sends metadata anyway (v4 allows it, the driver reads it). */
  skipMetadata: boolean;
  /** Rows per page; undefined: all rows in one page. */
  pageSize: number | undefined;
  /** The opaque state a previous page returned. */
  pagingState: Buffer | undefined;
  serialConsistency: number | undefined;
  /** The client's write timestamp, in microseconds since the epoch. */
  timestamp: bigint | undefined;
}

const QueryFlag = {
  values: 0x01,
  skipMetadata: 0x02,
  pageSize: 0x04,
  pagingState: 0x08,
  serialConsistency: 0x10,
  defaultTimestamp: 0x20,
  namesForValues: 0x40,
} as const;
const KNOWN_QUERY_FLAGS = 0x7f;

/** Reads <query_parameters>: <consistency><flags>[<n><value_i>...][<page_size>][<paging_state>][<serial_consistency>][<timestamp>]. */
export function readQueryParameters(r: WireReader): QueryParameters {
  const consistency = r.short();
  const flags = r.byte();
  if ((flags & ~KNOWN_QUERY_FLAGS) !== 0) throw protocolError(`Unknown query flags 0x${flags.toString(16)} for protocol v4`);
  if (flags & QueryFlag.namesForValues) throw unsupported('named bind values (send positional values)');
  const values = flags & QueryFlag.values ? r.values() : [];
  const pageSize = flags & QueryFlag.pageSize ? r.int() : undefined;
  const pagingState = flags & QueryFlag.pagingState ? (r.bytes() ?? undefined) : undefined;
  const serialConsistency = flags & QueryFlag.serialConsistency ? r.short() : undefined;
  const timestamp = flags & QueryFlag.defaultTimestamp ? r.long() : undefined;
  return { consistency, values, skipMetadata: (flags & QueryFlag.skipMetadata) !== 0, pageSize, pagingState, serialConsistency, timestamp };
}

/** QUERY: <query><query_parameters>. */
export interface QueryRequest {
  query: string;
  params: QueryParameters;
}

export function readQuery(r: WireReader): QueryRequest {
  const query = r.longString();
  return { query, params: readQueryParameters(r) };
}

/** EXECUTE: <id><query_parameters>. */
export interface ExecuteRequest {
  id: Buffer;
  params: QueryParameters;
}

export function readExecute(r: WireReader): ExecuteRequest {
  const id = r.shortBytes();
  return { id, params: readQueryParameters(r) };
}

/** PREPARE: <query> (v4 has no flags, no keyspace: the connection's keyspace applies). */
export function readPrepare(r: WireReader): string {
  return r.longString();
}

/** One statement of a BATCH: a query string, or the id of a prepared statement; with its values. */
export type BatchStatement = { kind: 'query'; query: string; values: WireValue[] } | { kind: 'prepared'; id: Buffer; values: WireValue[] };

/** BATCH: <type><n><query_1>...<query_n><consistency><flags>[<serial_consistency>][<timestamp>]. */
export interface BatchRequest {
  logged: boolean;
  statements: BatchStatement[];
  consistency: number;
  serialConsistency: number | undefined;
  timestamp: bigint | undefined;
}

const BatchType = { logged: 0, unlogged: 1, counter: 2 } as const;

export function readBatch(r: WireReader): BatchRequest {
  const type = r.byte();
  if (type === BatchType.counter) throw unsupported('COUNTER batches (the emulator has no counters)');
  if (type !== BatchType.logged && type !== BatchType.unlogged) throw protocolError(`Invalid BATCH message type ${type}`);
  const count = r.short();
  const statements: BatchStatement[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.byte();
    if (kind === 0) statements.push({ kind: 'query', query: r.longString(), values: r.values() });
    else if (kind === 1) statements.push({ kind: 'prepared', id: r.shortBytes(), values: r.values() });
    else throw protocolError(`Invalid query kind in BATCH messages. Must be 0 or 1 but got ${kind}`);
  }
  const consistency = r.short();
  const flags = r.byte();
  if ((flags & ~(QueryFlag.serialConsistency | QueryFlag.defaultTimestamp | QueryFlag.namesForValues)) !== 0) {
    throw protocolError(`Unknown batch flags 0x${flags.toString(16)} for protocol v4`);
  }
  if (flags & QueryFlag.namesForValues) throw unsupported('named bind values in a BATCH');
  const serialConsistency = flags & QueryFlag.serialConsistency ? r.short() : undefined;
  const timestamp = flags & QueryFlag.defaultTimestamp ? r.long() : undefined;
  return { logged: type === BatchType.logged, statements, consistency, serialConsistency, timestamp };
}

/** STARTUP: <string map>; CQL_VERSION is mandatory, and no compression is offered. */
export function readStartup(r: WireReader): Map<string, string> {
  const options = r.stringMap();
  if (!options.has('CQL_VERSION')) throw protocolError('CQL_VERSION is mandatory');
  const compression = options.get('COMPRESSION');
  if (compression !== undefined && compression !== '') throw protocolError(`Unknown compression algorithm: ${compression}`);
  return options;
}

/** REGISTER: <string list> of event types. */
export function readRegister(r: WireReader): string[] {
  const events = r.stringList();
  const known = new Set(['TOPOLOGY_CHANGE', 'STATUS_CHANGE', 'SCHEMA_CHANGE']);
  const unknown = events.find((e) => !known.has(e));
  if (unknown !== undefined) throw protocolError(`Invalid value '${unknown}' for Type`);
  return events;
}
