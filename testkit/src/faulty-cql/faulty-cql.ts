import type { QueryOptions, types } from 'cassandra-driver';
import { type CqlClient, type CqlConnector, createScyllaClient } from '@chat/conversation-actors';

/** A statement of a batch, as the store sends it. */
export type BatchStatement = Parameters<CqlClient['batch']>[0][number];

/** An injected failure. See FaultyCql.inject. */
export interface Fault {
  /** Asked per statement (for a batch, of each of its statements: one match fails the whole batch). */
  match: (query: string, params: unknown[]) => boolean;
  error: () => Error;
  /** 'before': the request never reaches the node; 'after': the node runs it, then the client sees the error (a timeout whose write landed). */
  when: 'before' | 'after';
  /** How many requests it fails (default: every matching one until removed). */
  times?: number;
}

/** Returned by inject(): removes the fault, counts its hits. */
export interface FaultHandle {
  remove(): void;
  readonly hits: number;
}

/** One request a client of this wrapper made (failed ones included, with their error). */
export interface LoggedRequest {
  kind: 'select' | 'insert' | 'update' | 'delete' | 'batch' | 'ddl';
  /** The CQL; for a batch, its statements joined by `; `. */
  query: string;
  params: unknown[];
  options: QueryOptions;
  /** A lightweight transaction (an IF clause), or a batch holding one. */
  lwt: boolean;
  /** A batch's statements as sent. */
  statements?: BatchStatement[];
  error?: Error;
}

interface ActiveFault extends Fault {
  hits: number;
}

/**
 * A thin fault-injecting wrapper around the driver client the store talks to
 * (the CqlClient that createScyllaClient returns, connected to a real node).
 * Every request goes to the node unchanged unless a fault matches it; faults
 * are what a node or the network does to a client (a timeout before the
 * statement ran, or after it applied), so the store's handling of them runs
 * against real Paxos, real write timestamps and real batches. It also keeps:
 *
 * - `log`: every request, for checks of what the store sends;
 * - `violations`: breaches of rules a real node accepts silently or only
 *   warns about, which the store must keep (every DML prepared; no table
 *   written both by lightweight transactions and by plain writes, since
 *   Cassandra and ScyllaDB forbid mixing them on a partition; and the
 *   warnings the node attached to its answers, such as a batch too large
 *   for ScyllaDB), with every warning also in `warnings`.
 *
 * A cluster that does not answer at all is not faked here: that is the
 * cut-off proxy of ../live-cql (a real socket that holds its traffic).
 */
export class FaultyCql {
  readonly log: LoggedRequest[] = [];
  readonly violations: string[] = [];
  /** Every warning the node attached to an answer (info.warnings), as it worded it. */
  readonly warnings: string[] = [];
  private faults: ActiveFault[] = [];
  private readonly writers = new Map<string, { lwt?: string; plain?: string; reported: boolean }>();
  private holds: { held: (query: string) => boolean; until: Promise<void> }[] = [];

  constructor(private readonly inner: CqlConnector = createScyllaClient) {}

  /** Opens clients as `inner` does, each wrapped: hand it to openScyllaStore or runMigrate. */
  readonly connector: CqlConnector = (options, to) => this.wrap(this.inner(options, to));

  /** Fails matching requests, the first matching fault first. */
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
   * Holds every request with a statement matching `held` (before it leaves
   * the client) until release(): a host frozen between two statements, its
   * next one sent only when it wakes. Requests sent after release() pass.
   */
  hold(held: (query: string) => boolean): { release(): void } {
    let release!: () => void;
    const entry = { held, until: new Promise<void>((r) => (release = r)) };
    this.holds.push(entry);
    return {
      release: () => {
        this.holds = this.holds.filter((h) => h !== entry);
        release();
      },
    };
  }

  private wrap(client: CqlClient): CqlClient {
    return {
      connect: () => client.connect(),
      execute: (query, params, options = {}) => this.run(this.record('execute', [{ query, params: params ?? [] }], options), () => client.execute(query, params, options)),
      batch: (statements, options = {}) => this.run(this.record('batch', statements, options), () => client.batch(statements, options)),
      shutdown: () => client.shutdown(),
    };
  }

  private async run(entry: LoggedRequest, send: () => Promise<types.ResultSet>): Promise<types.ResultSet> {
    const statements = entry.statements ?? [{ query: entry.query, params: entry.params }];
    for (const hold of this.holds) if (statements.some((s) => hold.held(s.query))) await hold.until;
    const fault = this.faults.find((f) => statements.some((s) => f.match(s.query, s.params)));
    try {
      if (fault?.when === 'before') throw this.fire(fault);
      const result = await send();
      for (const warning of result.info?.warnings ?? []) this.warned(warning, entry.query);
      if (fault?.when === 'after') throw this.fire(fault);
      return result;
    } catch (err) {
      entry.error = err as Error;
      throw err;
    }
  }

  /**
   * Every warning goes to `warnings` and `violations`: the store's batches
   * stay under 40 KiB, below both the local node's batch warning (64 KiB,
   * as the README recommends for Cassandra) and ScyllaDB's (128 KiB).
   */
  private warned(warning: string, query: string): void {
    this.warnings.push(warning);
    this.violations.push(`the node warned: ${warning}; after: ${query.slice(0, 200)}`);
  }

  private fire(fault: ActiveFault): Error {
    fault.hits++;
    if (fault.times !== undefined && fault.hits >= fault.times) this.faults = this.faults.filter((f) => f !== fault);
    return fault.error();
  }

  private record(call: 'execute' | 'batch', statements: BatchStatement[], options: QueryOptions): LoggedRequest {
    const described = statements.map((s) => describeStatement(s.query));
    for (const [i, d] of described.entries()) this.check(statements[i]!.query, d, options);
    const entry: LoggedRequest =
      call === 'batch'
        ? { kind: 'batch', query: statements.map((s) => s.query).join('; '), params: statements.map((s) => s.params), options, lwt: described.some((d) => d.lwt), statements }
        : { kind: described[0]!.kind, query: statements[0]!.query, params: statements[0]!.params, options, lwt: described[0]!.lwt };
    this.log.push(entry);
    return entry;
  }

  private check(query: string, d: Described, options: QueryOptions): void {
    if (d.kind !== 'ddl' && options.prepare !== true) this.violations.push(`not prepared: ${query}`);
    if (d.table === undefined || d.kind === 'select') return;
    // By table, not by partition: stricter than the rule, and the store keeps it (only the conversations table takes LWTs).
    const seen = this.writers.get(d.table) ?? { reported: false };
    seen[d.lwt ? 'lwt' : 'plain'] ??= query;
    this.writers.set(d.table, seen);
    if (seen.lwt && seen.plain && !seen.reported) {
      seen.reported = true;
      this.violations.push(`table ${d.table} is written both by lightweight transactions and by plain writes: ${seen.lwt} / ${seen.plain}`);
    }
  }
}

interface Described {
  kind: Exclude<LoggedRequest['kind'], 'batch'>;
  lwt: boolean;
  table: string | undefined;
}

/** What a statement is, from its first words (the store's CQL is in scylla-cql.ts: one statement per string). */
function describeStatement(query: string): Described {
  const text = query.trim();
  const word = /^(\w+)/.exec(text)?.[1]?.toLowerCase();
  const table = /^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)/i.exec(text)?.[1] ?? /\bFROM\s+(\w+)/i.exec(text)?.[1];
  const kind = word === 'select' || word === 'insert' || word === 'update' || word === 'delete' ? word : 'ddl';
  return { kind, lwt: kind !== 'select' && kind !== 'ddl' && /\sIF\s/i.test(text), table: kind === 'ddl' ? undefined : table };
}
