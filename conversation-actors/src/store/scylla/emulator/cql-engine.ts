import { type ModificationStatement, type ParsedStatement, type Statement, isConditional, isDdl } from './cql-ast.js';
import { Binding, receiversOf } from './cql-bind.js';
import { decodeValue } from './cql-codec.js';
import { invalid } from './cql-errors.js';
import { type CasCheck, type LwtResultShape, type RawRows, casResult, checkConditions } from './cql-lwt.js';
import { type CompiledWrite, compileWrite } from './cql-modify.js';
import { parseCql } from './cql-parser.js';
import type { Schema } from './cql-schema.js';
import { type Paging, executeSelect } from './cql-select.js';
import type { Partition } from './cql-storage.js';

/** The limits and answers of an emulated cluster. */
export interface EngineOptions {
  lwtResults: LwtResultShape;
  /** A partition holding more rows than this is a data-modelling violation. */
  maxPartitionRows: number;
  /** batch_size_warn_threshold (Scylla: 128 KiB) and batch_size_fail_threshold (1 MiB). */
  batchWarnBytes: number;
  batchFailBytes: number;
}

/** What the engine needs from the cluster: the write clock (microseconds, strictly increasing) and where to report violations. */
export interface EngineHooks {
  now(): number;
  violation(message: string): void;
}

/** One statement to run. `timestamp` is the client's write timestamp (µs) if it set one; `serial` says the consistency is SERIAL/LOCAL_SERIAL. */
export interface StatementRequest {
  query: string;
  params: readonly unknown[] | undefined;
  prepared: boolean;
  keyspace: string | undefined;
  paging: Paging;
  timestamp?: number | undefined;
  serial: boolean;
}

/** The outcome of a statement: rows (still serialized) for SELECT and LWTs, none for plain writes and DDL. */
export interface EngineResult {
  rows?: RawRows;
  pageState: Buffer | null;
  warnings: string[];
}

/** The statements of one BATCH. */
export interface BatchRequest {
  statements: readonly { query: string; params?: readonly unknown[] | undefined }[];
  prepared: boolean;
  keyspace: string | undefined;
  logged: boolean;
  timestamp?: number | undefined;
  serial: boolean;
}

const PARSE_CACHE_LIMIT = 2000;

/**
 * Executes CQL against the schema and its data, one statement (or one batch)
 * at a time, atomically. Reads are single-partition slices (cql-select.ts);
 * writes are reconciled by timestamp (cql-storage.ts); lightweight
 * transactions read, check and write in one step with a fresh timestamp from
 * the cluster clock; batches share one timestamp. Reports data-modelling
 * violations (LWT and plain writes mixed on a partition, oversized
 * partitions, oversized batches) through the hooks.
 */
export class Engine {
  private readonly cache = new Map<string, ParsedStatement>();

  constructor(
    readonly schema: Schema,
    private readonly options: EngineOptions,
    private readonly hooks: EngineHooks,
  ) {}

  /** Parses (and caches) a statement; syntaxError for CQL outside the subset. */
  parse(query: string): ParsedStatement {
    let parsed = this.cache.get(query);
    if (!parsed) {
      parsed = parseCql(query);
      if (this.cache.size >= PARSE_CACHE_LIMIT) this.cache.clear();
      this.cache.set(query, parsed);
    }
    return parsed;
  }

  /**
   * Runs one statement: DDL on the schema; SELECT as one slice of one
   * partition; a write at the client's timestamp or the cluster clock; a
   * conditional write as a lightweight transaction. Throws ResponseErrors.
   */
  execute(req: StatementRequest): EngineResult {
    const { statement, markers } = this.parse(req.query);
    if (isDdl(statement)) {
      Binding.bind([], markers, req.params, req.prepared);
      this.schema.apply(statement, req.keyspace);
      return { pageState: null, warnings: [] };
    }
    const table = this.schema.table(statement.table, req.keyspace);
    const binding = Binding.bind(receiversOf(statement, table), markers, req.params, req.prepared);
    if (statement.type === 'select') {
      const page = executeSelect(table, statement, binding, req.paging);
      return { rows: { columns: page.columns.map((c) => ({ name: c.name, type: c.type })), rows: page.rows }, pageState: page.pageState, warnings: [] };
    }
    const write = compileWrite(table, statement, binding);
    checkWriteConsistency(req.serial, isConditional(statement));
    if (!isConditional(statement)) {
      this.apply(write, req.timestamp ?? this.hooks.now(), false, req.query);
      return { pageState: null, warnings: [] };
    }
    const check = checkConditions(write);
    this.cas([check], req.query);
    return { rows: casResult(this.options.lwtResults, [check], check.holds, false), pageState: null, warnings: [] };
  }

  /**
   * Runs a BATCH of INSERT/UPDATE/DELETE atomically with one timestamp.
   * With a condition: one table, one partition, all-or-nothing, one
   * [applied] answer. Over the size thresholds (several partitions only):
   * a warning and a violation, or "Batch too large" and nothing written.
   */
  batch(req: BatchRequest): EngineResult {
    const writes: { write: CompiledWrite; conditional: boolean; size: number }[] = req.statements.map((s) => {
      const { statement, markers } = this.parse(s.query);
      if (!isModification(statement)) throw invalid('Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.');
      const table = this.schema.table(statement.table, req.keyspace);
      const binding = Binding.bind(receiversOf(statement, table), markers, s.params, req.prepared);
      return { write: compileWrite(table, statement, binding), conditional: isConditional(statement), size: binding.size };
    });
    const conditional = writes.some((w) => w.conditional);
    checkWriteConsistency(req.serial, conditional);
    const partitions = new Set(writes.map((w) => `${w.write.table.qualifiedName}/${partitionId(w.write.partitionKey)}`));
    if (conditional) {
      if (new Set(writes.map((w) => w.write.table)).size > 1) throw invalid('Batch with conditions cannot span multiple tables');
      if (partitions.size > 1) throw invalid('Batch with conditions cannot span multiple partitions');
    }
    const warnings = this.checkBatchSize(writes, partitions.size, req.logged);
    const query = req.statements.map((s) => s.query).join('; ');
    if (!conditional) {
      const ts = req.timestamp ?? this.hooks.now();
      for (const w of writes) this.apply(w.write, ts, false, query);
      return { pageState: null, warnings };
    }
    const checks = writes.map((w) => checkConditions(w.write));
    this.cas(checks, query);
    return { rows: casResult(this.options.lwtResults, checks, checks.every((c) => c.holds), true), pageState: null, warnings };
  }

  /** A lightweight transaction: every check was made on the same state; all writes apply with one fresh timestamp, or none. */
  private cas(checks: CasCheck[], query: string): void {
    const applied = checks.every((c) => c.holds);
    const ts = this.hooks.now();
    for (const c of checks) {
      if (applied) this.apply(c.write, ts, true, query);
      else this.track(c.write.table.data.partition(c.write.partitionKey, true), true, query);
    }
  }

  private apply(write: CompiledWrite, ts: number, lwt: boolean, query: string): void {
    const partition = write.table.data.partition(write.partitionKey, true);
    partition.apply(write.op, ts);
    this.track(partition, lwt, query);
  }

  /** Records who wrote a partition and reports the violations that follow. */
  private track(partition: Partition, lwt: boolean, query: string): void {
    const mixedBefore = partition.writtenByLwt && partition.writtenPlain;
    if (lwt) partition.writtenByLwt = true;
    else partition.writtenPlain = true;
    const name = `${partition.table.qualifiedName}(${describeKey(partition)})`;
    if (!mixedBefore && partition.writtenByLwt && partition.writtenPlain) {
      this.hooks.violation(`partition ${name} is written both by lightweight transactions and by plain writes (Cassandra forbids mixing them); now by: ${query}`);
    }
    const max = this.options.maxPartitionRows;
    if (partition.rows.length === max + 1) this.hooks.violation(`partition ${name} holds more than maxPartitionRows (${max}) rows; now by: ${query}`);
  }

  /** Scylla's batch size check: only a batch spanning several partitions is measured (sum of the bound values' sizes). */
  private checkBatchSize(writes: { write: CompiledWrite; size: number }[], partitions: number, logged: boolean): string[] {
    if (partitions <= 1) return [];
    const size = writes.reduce((sum, w) => sum + w.size, 0);
    if (size <= this.options.batchWarnBytes) return [];
    const tables = [...new Set(writes.map((w) => w.write.table.qualifiedName))].join(', ');
    const describe = (kind: string, threshold: number): string =>
      `${logged ? 'Logged' : 'Unlogged'} batch modifying ${partitions} partitions in ${tables} is of size ${size} bytes, exceeding specified ${kind} threshold of ${threshold} by ${size - threshold}.`;
    if (size > this.options.batchFailBytes) throw invalid(`Batch too large: ${describe('FAIL', this.options.batchFailBytes)}`);
    const warning = describe('WARN', this.options.batchWarnBytes);
    this.hooks.violation(warning);
    return [warning];
  }
}

function isModification(statement: Statement): statement is ModificationStatement {
  return statement.type === 'insert' || statement.type === 'update' || statement.type === 'delete';
}

/** Writes at SERIAL/LOCAL_SERIAL are refused as a node refuses them. */
function checkWriteConsistency(serial: boolean, conditional: boolean): void {
  if (!serial) return;
  if (conditional) throw invalid('SERIAL is not supported as conditional update commit consistency. Use ANY if you mean "make sure it is accepted but I don\'t care how many replicas commit it for non-SERIAL reads"');
  throw invalid('You must use conditional updates for serializable writes');
}

function partitionId(key: Buffer[]): string {
  return key.map((b) => b.toString('hex')).join(',');
}

/** The partition key decoded, for messages: `id='c1'`, `conversation_id='c1', bucket=0`. */
function describeKey(partition: Partition): string {
  return partition.table.partitionKey.map((c, i) => `${c.name}=${JSON.stringify(String(decodeValue(partition.key[i] ?? null, c.type)))}`).join(', ');
}

