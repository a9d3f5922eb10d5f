import { type QueryOptions, errors, types } from 'cassandra-driver';
import { type ParsedStatement, isConditional, isDdl } from './cql-ast.js';
import { Engine, type EngineOptions, type EngineResult } from './cql-engine.js';
import type { LwtResultShape } from './cql-lwt.js';
import { EMULATED_HOST, toResultSet } from './cql-results.js';
import { Schema } from './cql-schema.js';
import { EmulatedClient } from './emulated-client.js';

/** What a logged request was. */
export type StatementKind = 'select' | 'insert' | 'update' | 'delete' | 'batch' | 'ddl';

/** One request the cluster received (refused ones included, with their error). */
export interface LogEntry {
  /** The CQL; for a batch, its statements joined by `; `. */
  query: string;
  /** The parameters; for a batch, one array per statement. */
  params: unknown[];
  options: QueryOptions;
  kind: StatementKind;
  /** Whether it is a lightweight transaction (has an IF clause, or is a batch holding one). */
  lwt: boolean;
  /** A batch's statements as sent. */
  statements?: { query: string; params: unknown[] }[];
  /** The error the request failed with, if any (set once known). */
  error?: Error;
}

/** An injected failure. See EmulatedCluster.inject. */
export interface Fault {
  match: (query: string, params: unknown[]) => boolean;
  error: () => Error;
  /** 'before': nothing is applied; 'after': the statement is applied, then the error is thrown. */
  when: 'before' | 'after';
  /** How many requests it fails (default: every matching one until removed). */
  times?: number;
}

/** Returned by inject(): removes the fault, counts its hits. */
export interface FaultHandle {
  remove(): void;
  /** How many requests it has failed. */
  readonly hits: number;
}

/** The cluster's strictness and limits; every field has a default. */
export interface EmulatedClusterOptions {
  /** DML and SELECT must be executed with `prepare: true`, as the store does (default true). */
  requirePrepared?: boolean;
  /** Rows per partition above which a violation is recorded (default 100,000). */
  maxPartitionRows?: number;
  /** Whose LWT result shape to answer with (default 'cassandra'; see LwtResultShape). */
  lwtResults?: LwtResultShape;
  /** How many log entries are kept (default 10,000, oldest dropped first). */
  logLimit?: number;
  /** Batch size warn / fail thresholds in bytes (default 128 KiB / 1 MiB, Scylla's). */
  batchWarnBytes?: number;
  batchFailBytes?: number;
}

/** A request as the client hands it over. */
export interface ClusterRequest {
  statements: { query: string; params: unknown[] | undefined }[];
  batch: boolean;
  options: QueryOptions;
  keyspace: string | undefined;
  /** The client's clock offset (ms) for the timestamps of its plain writes. */
  clockSkewMs: number;
}

interface ActiveFault extends Fault {
  hits: number;
}

/**
 * An in-memory stand-in for a ScyllaDB/Cassandra cluster, for tests: one
 * schema, one data set and one write clock shared by every client it hands
 * out (a store closed and re-opened sees its data). It runs the CQL subset
 * of the store with Cassandra's semantics and ScyllaDB's data-modelling rules
 * applied strictly (see the cql-*.ts files), records every request in `log`
 * and every data-modelling violation in `violations`, and can fail requests
 * on purpose (`inject`, `setReachable`). Consistency levels, replication,
 * TTLs and multi-node behaviour are not modelled: one node, always consistent.
 */
export class EmulatedCluster {
  readonly schema = new Schema();
  readonly log: LogEntry[] = [];
  readonly violations: string[] = [];
  readonly requirePrepared: boolean;
  private readonly engine: Engine;
  private readonly logLimit: number;
  private faults: ActiveFault[] = [];
  private reachable = true;
  private readonly reachabilityListeners = new Set<(reachable: boolean) => void>();
  private lastTimestamp = 0;

  constructor(options: EmulatedClusterOptions = {}) {
    this.requirePrepared = options.requirePrepared ?? true;
    this.logLimit = options.logLimit ?? 10_000;
    const engineOptions: EngineOptions = {
      lwtResults: options.lwtResults ?? 'cassandra',
      maxPartitionRows: options.maxPartitionRows ?? 100_000,
      batchWarnBytes: options.batchWarnBytes ?? 128 * 1024,
      batchFailBytes: options.batchFailBytes ?? 1024 * 1024,
    };
    this.engine = new Engine(this.schema, engineOptions, { now: () => this.now(), violation: (m) => this.violations.push(m) });
  }

  /**
   * A new driver-like client of this cluster, connected to `keyspace` if
   * given. `clockSkewMs` models the clock of the client's host: its plain
   * writes (without options.timestamp) are stamped that far from the
   * cluster clock, as the driver stamps writes with its host's clock; LWTs
   * keep the cluster's (Paxos) timestamps.
   */
  client(options: { keyspace?: string; clockSkewMs?: number } = {}): EmulatedClient {
    return new EmulatedClient(this, options.keyspace, options.clockSkewMs ?? 0);
  }

  /** The write clock: microseconds since the epoch, strictly increasing across all clients and LWTs. */
  now(): number {
    this.lastTimestamp = Math.max(this.lastTimestamp + 1, Date.now() * 1000);
    return this.lastTimestamp;
  }

  /**
   * Fails matching requests: 'before' throws `error()` without applying the
   * statement; 'after' applies it, then throws (a write timeout whose write
   * landed). For a batch, `match` is asked per statement and the fault
   * applies to the whole batch. The first matching fault wins.
   */
  inject(fault: Fault): FaultHandle {
    const active: ActiveFault = { ...fault, hits: 0 };
    this.faults.push(active);
    return {
      remove: () => {
        this.faults = this.faults.filter((f) => f !== active);
      },
      get hits() {
        return active.hits;
      },
    };
  }

  /**
   * While false, every request and connect of an EmulatedClient rejects with
   * the driver's NoHostAvailableError (over the wire, see
   * CqlServerOptions.unreachable).
   */
  setReachable(reachable: boolean): void {
    const changed = this.reachable !== reachable;
    this.reachable = reachable;
    if (changed) for (const listener of [...this.reachabilityListeners]) listener(reachable);
  }

  /** Whether the cluster answers (see setReachable). */
  get isReachable(): boolean {
    return this.reachable;
  }

  /**
   * Calls `listener` on every change of reachability, synchronously inside
   * setReachable (the wire server drops, or answers the requests it held
   * on, its connections there). Returns the unsubscribe function.
   */
  onReachabilityChange(listener: (reachable: boolean) => void): () => void {
    this.reachabilityListeners.add(listener);
    return () => {
      this.reachabilityListeners.delete(listener);
    };
  }

  /** Throws NoHostAvailableError if the cluster is unreachable. */
  assertReachable(): void {
    if (!this.reachable) throw new errors.NoHostAvailableError({ [EMULATED_HOST]: new Error('emulator: host unreachable (cluster.setReachable(false))') });
  }

  /** Runs one request for a client: reachability, logging, the prepared-only rule, faults, then the engine. */
  run(request: ClusterRequest): types.ResultSet {
    return toResultSet(this.runRaw(request), request.options.consistency ?? types.consistencies.localQuorum);
  }

  /**
   * Exactly what run() does, but answers the engine's outcome with the
   * values still serialized (rows as bytes with their column types, the
   * paging state as bytes, the warnings): what a wire server sends on.
   */
  runRaw(request: ClusterRequest): EngineResult {
    this.assertReachable();
    const entry = this.record(request);
    try {
      const parsed = request.statements.map((s) => this.engine.parse(s.query));
      this.checkPrepared(parsed, request.options);
      const fault = this.faults.find((f) => request.statements.some((s) => f.match(s.query, s.params ?? [])));
      if (fault?.when === 'before') throw this.fire(fault);
      const result = this.execute(request);
      if (fault?.when === 'after') throw this.fire(fault);
      return result;
    } catch (err) {
      entry.error = err as Error;
      throw err;
    }
  }

  private execute(request: ClusterRequest): EngineResult {
    const o = request.options;
    const common = {
      prepared: o.prepare === true,
      keyspace: request.keyspace,
      timestamp:
        o.timestamp !== undefined && o.timestamp !== null
          ? Number(o.timestamp.toString())
          : request.clockSkewMs !== 0
            ? this.now() + Math.round(request.clockSkewMs * 1000)
            : undefined,
      serial: o.consistency === types.consistencies.serial || o.consistency === types.consistencies.localSerial,
    };
    if (request.batch) return this.engine.batch({ ...common, statements: request.statements, logged: o.logged ?? true });
    const s = request.statements[0] as ClusterRequest['statements'][number];
    return this.engine.execute({ ...common, query: s.query, params: s.params, paging: { fetchSize: o.fetchSize ?? 5000, pageState: o.pageState } });
  }

  private fire(fault: ActiveFault): Error {
    fault.hits++;
    if (fault.times !== undefined && fault.hits >= fault.times) this.faults = this.faults.filter((f) => f !== fault);
    return fault.error();
  }

  private checkPrepared(parsed: ParsedStatement[], options: QueryOptions): void {
    if (!this.requirePrepared || options.prepare === true) return;
    const dml = parsed.find((p) => !isDdl(p.statement));
    if (dml) throw new Error(`emulator: ${dml.statement.type.toUpperCase()} executed without { prepare: true } (the cluster requires prepared statements)`);
  }

  private record(request: ClusterRequest): LogEntry {
    const statements = request.statements.map((s) => ({ query: s.query, params: s.params ?? [] }));
    const described = statements.map((s) => this.describe(s.query));
    const entry: LogEntry = request.batch
      ? { query: statements.map((s) => s.query).join('; '), params: statements.map((s) => s.params), options: request.options, kind: 'batch', lwt: described.some((d) => d.lwt), statements }
      : { query: statements[0]?.query ?? '', params: statements[0]?.params ?? [], options: request.options, ...(described[0] ?? { kind: 'ddl', lwt: false }) };
    this.log.push(entry);
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
    return entry;
  }

  /** The kind of a statement, even one that does not parse (by its first word). */
  private describe(query: string): { kind: StatementKind; lwt: boolean } {
    try {
      const { statement } = this.engine.parse(query);
      if (isDdl(statement)) return { kind: 'ddl', lwt: false };
      return { kind: statement.type, lwt: isConditional(statement) };
    } catch {
      const word = /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase();
      const kind = word === 'select' || word === 'insert' || word === 'update' || word === 'delete' ? word : 'ddl';
      return { kind, lwt: false };
    }
  }
}
