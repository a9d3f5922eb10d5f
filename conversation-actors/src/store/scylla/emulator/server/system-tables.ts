import { types } from 'cassandra-driver';
import { type DriverType, encodeAs } from '../cql-codec.js';
import { invalid, unsupported } from '../cql-errors.js';
import type { Schema } from '../cql-schema.js';
import type { ColumnSpec, RowsPage, TableSpec } from './results.js';

// The system tables the driver reads, answered by the server itself (the
// emulator's schema has no `system` keyspace): system.local and system.peers
// when it connects (a single node: one local row, no peers), system.local's
// schema_version for schema agreement, and system_schema.* for its metadata.
// Only keyspaces have rows in system_schema; the driver needs tables and
// columns only when asked for table metadata, which the store never does.

const t = types.dataTypes;
const TEXT: DriverType = { code: t.text };
const UUID: DriverType = { code: t.uuid };
const INET: DriverType = { code: t.inet };
const INT: DriverType = { code: t.int };
const DOUBLE: DriverType = { code: t.double };
const BOOLEAN: DriverType = { code: t.boolean };
const BLOB: DriverType = { code: t.blob };
const TEXT_SET: DriverType = { code: t.set, info: TEXT };
const TEXT_LIST: DriverType = { code: t.list, info: TEXT };
const TEXT_MAP: DriverType = { code: t.map, info: [TEXT, TEXT] };

/** What the rows of the system tables say about the node. */
export interface SystemContext {
  /** The address the client reached the node at (its broadcast, listen and rpc address). */
  address: string;
  dataCenter: string;
  hostId: types.Uuid;
  /** Changes on every schema change the server ran; the driver compares it across nodes (one here). */
  schemaVersion: types.Uuid;
  /** Seconds since the epoch when the server started. */
  generation: number;
  schema: Schema;
}

type Row = Record<string, unknown>;

interface SystemTable {
  columns: ColumnSpec[];
  rows(ctx: SystemContext): Row[];
}

const cols = (spec: Record<string, DriverType>): ColumnSpec[] => Object.entries(spec).map(([name, type]) => ({ name, type }));
const empty = (spec: Record<string, DriverType>): SystemTable => ({ columns: cols(spec), rows: () => [] });

const TABLES: ReadonlyMap<string, SystemTable> = new Map<string, SystemTable>([
  [
    'system.local',
    {
      columns: cols({
        key: TEXT, bootstrapped: TEXT, broadcast_address: INET, cluster_name: TEXT, cql_version: TEXT, data_center: TEXT,
        gossip_generation: INT, host_id: UUID, listen_address: INET, native_protocol_version: TEXT, partitioner: TEXT, rack: TEXT,
        release_version: TEXT, rpc_address: INET, schema_version: UUID, thrift_version: TEXT, tokens: TEXT_SET,
        truncated_at: { code: t.map, info: [UUID, BLOB] },
      }),
      rows: (ctx) => [
        {
          key: 'local', bootstrapped: 'COMPLETED', broadcast_address: ctx.address, cluster_name: 'emulator', cql_version: '3.4.5',
          data_center: ctx.dataCenter, gossip_generation: ctx.generation, host_id: ctx.hostId, listen_address: ctx.address,
          native_protocol_version: '4', partitioner: 'org.apache.cassandra.dht.Murmur3Partitioner', rack: 'rack1',
          // 3.x: the driver then uses protocol v4 and reads its metadata from system_schema.
          release_version: '3.11.0', rpc_address: ctx.address, schema_version: ctx.schemaVersion, thrift_version: '20.1.0',
          // One token: the whole ring is this node's, so token-aware routing always picks it.
          tokens: ['0'], truncated_at: null,
        },
      ],
    },
  ],
  [
    'system.peers',
    empty({ peer: INET, data_center: TEXT, host_id: UUID, preferred_ip: INET, rack: TEXT, release_version: TEXT, rpc_address: INET, schema_version: UUID, tokens: TEXT_SET }),
  ],
  [
    'system_schema.keyspaces',
    {
      columns: cols({ keyspace_name: TEXT, durable_writes: BOOLEAN, replication: TEXT_MAP }),
      rows: (ctx) =>
        [...ctx.schema.keyspaces.values()].map((ks) => ({
          keyspace_name: ks.name,
          durable_writes: true,
          // A node stores the strategy's full class name; the driver matches either by suffix.
          replication: Object.fromEntries([...ks.replication].map(([k, v]) => [k, k === 'class' && !v.includes('.') ? `org.apache.cassandra.locator.${v}` : v])),
        })),
    },
  ],
  [
    'system_schema.tables',
    empty({
      keyspace_name: TEXT, table_name: TEXT, bloom_filter_fp_chance: DOUBLE, caching: TEXT_MAP, comment: TEXT, compaction: TEXT_MAP,
      compression: TEXT_MAP, crc_check_chance: DOUBLE, dclocal_read_repair_chance: DOUBLE, default_time_to_live: INT,
      extensions: { code: t.map, info: [TEXT, BLOB] }, flags: TEXT_SET, gc_grace_seconds: INT, id: UUID, max_index_interval: INT,
      memtable_flush_period_in_ms: INT, min_index_interval: INT, read_repair_chance: DOUBLE, speculative_retry: TEXT,
    }),
  ],
  ['system_schema.columns', empty({ keyspace_name: TEXT, table_name: TEXT, column_name: TEXT, clustering_order: TEXT, column_name_bytes: BLOB, kind: TEXT, position: INT, type: TEXT })],
  ['system_schema.views', empty({ keyspace_name: TEXT, view_name: TEXT, base_table_id: UUID, base_table_name: TEXT, include_all_columns: BOOLEAN, where_clause: TEXT })],
  ['system_schema.indexes', empty({ keyspace_name: TEXT, table_name: TEXT, index_name: TEXT, kind: TEXT, options: TEXT_MAP })],
  ['system_schema.types', empty({ keyspace_name: TEXT, type_name: TEXT, field_names: TEXT_LIST, field_types: TEXT_LIST })],
  [
    'system_schema.functions',
    empty({ keyspace_name: TEXT, function_name: TEXT, argument_types: TEXT_LIST, argument_names: TEXT_LIST, body: TEXT, called_on_null_input: BOOLEAN, language: TEXT, return_type: TEXT }),
  ],
  [
    'system_schema.aggregates',
    empty({ keyspace_name: TEXT, aggregate_name: TEXT, argument_types: TEXT_LIST, final_func: TEXT, initcond: TEXT, return_type: TEXT, state_func: TEXT, state_type: TEXT }),
  ],
  ['system_schema.triggers', empty({ keyspace_name: TEXT, table_name: TEXT, trigger_name: TEXT, options: TEXT_MAP })],
  ['system_schema.dropped_columns', empty({ keyspace_name: TEXT, table_name: TEXT, column_name: TEXT, dropped_time: { code: t.timestamp }, type: TEXT })],
]);

/** A SELECT on a system table: its table, selected columns and `column = 'constant'` restrictions. */
export interface SystemSelect {
  spec: TableSpec;
  columns: '*' | string[];
  where: [column: string, value: string][];
}

const SELECT = /^\s*select\s+(\*|[\w\s,"]+?)\s+from\s+"?(\w+)"?\s*\.\s*"?(\w+)"?(?:\s+where\s+(.+?))?\s*;?\s*$/is;
/** Cassandra's and ScyllaDB's system keyspaces (the driver reads from the first two; the others are refused as missing). */
const SYSTEM_KEYSPACES: ReadonlySet<string> = new Set(['system', 'system_schema', 'system_auth', 'system_distributed', 'system_distributed_everywhere', 'system_traces', 'system_views', 'system_virtual_schema']);
const EQUALS = /^\s*"?(\w+)"?\s*=\s*'((?:[^']|'')*)'\s*$/s;

/**
 * The SELECT of `query` if it reads a system keyspace (qualified, as the
 * driver writes it), else undefined (the emulator runs it). A restriction
 * other than `column = 'text'` is refused (unsupported).
 */
export function parseSystemSelect(query: string): SystemSelect | undefined {
  const m = SELECT.exec(query);
  if (!m || !SYSTEM_KEYSPACES.has((m[2] as string).toLowerCase())) return undefined;
  const [, selection = '*', keyspace = '', table = '', where] = m;
  const columns = selection.trim() === '*' ? '*' : selection.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
  const restrictions = (where === undefined ? [] : where.split(/\s+and\s+/i)).map((r): [string, string] => {
    const e = EQUALS.exec(r);
    if (!e) throw unsupported(`restriction ${r.trim()} on a system table (only column = 'text')`);
    return [(e[1] as string).toLowerCase(), (e[2] as string).replace(/''/g, "'")];
  });
  return { spec: { keyspace: keyspace.toLowerCase(), table: table.toLowerCase() }, columns, where: restrictions };
}

/** The columns a system SELECT returns (what PREPARE describes); Cassandra's errors for an unknown table or column. */
export function systemColumns(select: SystemSelect): ColumnSpec[] {
  const table = lookup(select.spec);
  if (select.columns === '*') return table.columns;
  return select.columns.map((name) => {
    const column = table.columns.find((c) => c.name === name.toLowerCase());
    if (!column) throw invalid(`Undefined column name ${name}`);
    return column;
  });
}

/** The rows of a system SELECT, in one page, serialized by the driver's Encoder. */
export function answerSystemSelect(select: SystemSelect, ctx: SystemContext): RowsPage {
  const table = lookup(select.spec);
  const columns = systemColumns(select);
  for (const [name] of select.where) {
    if (!table.columns.some((c) => c.name === name)) throw invalid(`Undefined column name ${name}`);
  }
  const rows = table
    .rows(ctx)
    .filter((row) => select.where.every(([name, value]) => String(row[name]) === value))
    .map((row) => columns.map((c) => encodeAs(toDriverValue(row[c.name], c.type), c.type)));
  return { spec: select.spec, columns, rows, pagingState: null };
}

function lookup(spec: TableSpec): SystemTable {
  const table = TABLES.get(`${spec.keyspace}.${spec.table}`);
  if (table) return table;
  // peers_v2 (Cassandra 4) included: answering "unconfigured" is what makes a driver fall back to system.peers.
  if (spec.keyspace === 'system' || spec.keyspace === 'system_schema') throw invalid(`unconfigured table ${spec.table}`);
  throw invalid(`Keyspace ${spec.keyspace} does not exist`);
}

/** inet values are kept as address strings; the Encoder wants an InetAddress. */
function toDriverValue(value: unknown, type: DriverType): unknown {
  if (type.code === t.inet && typeof value === 'string') return types.InetAddress.fromString(value);
  return value;
}
