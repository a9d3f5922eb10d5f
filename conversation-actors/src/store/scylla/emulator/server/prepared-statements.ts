import { createHash } from 'node:crypto';
import { type CqlType, type Statement, isConditional } from '../cql-ast.js';
import { parseCql } from '../cql-parser.js';
import type { Schema } from '../cql-schema.js';
import type { PreparedDescription } from './results.js';
import { analyzeStatement, parseUse } from './statement-analysis.js';
import { type SystemSelect, parseSystemSelect, systemColumns } from './system-tables.js';

/** What a prepared statement runs: a USE, a system-table read the server answers, or CQL for the emulator. */
export type PreparedTarget =
  | { kind: 'use'; keyspace: string }
  | { kind: 'system'; select: SystemSelect }
  | { kind: 'cql'; statement: Statement; markerTypes: CqlType[]; conditional: boolean };

/** A statement as the node prepared it. */
export interface PreparedStatement {
  id: Buffer;
  query: string;
  /** The connection's keyspace when it was prepared: unqualified names resolve against it at every EXECUTE. */
  keyspace: string | undefined;
  target: PreparedTarget;
  /** What the RESULT Prepared says. */
  description: PreparedDescription;
}

/**
 * The node's prepared-statement cache, shared by every connection (a
 * statement prepared on one connection executes on any). An id is the MD5
 * of keyspace + query text, as Cassandra computes it, so preparing again
 * gives the same id (and a fresh analysis, should the table have changed).
 * `forget()` empties it, as a node restart does: the next EXECUTE of a
 * forgotten id is answered Unprepared and the driver prepares again.
 */
export class PreparedStatements {
  private readonly byId = new Map<string, PreparedStatement>();

  /** Prepares `query` for a connection using `keyspace`; throws the node's errors (syntax, unknown table or column). */
  prepare(query: string, keyspace: string | undefined, schema: Schema): PreparedStatement {
    const id = createHash('md5')
      .update((keyspace ?? '') + query, 'utf8')
      .digest();
    const { target, description } = describe(id, query, keyspace, schema);
    const prepared: PreparedStatement = { id, query, keyspace, target, description };
    this.byId.set(id.toString('hex'), prepared);
    return prepared;
  }

  /** The statement prepared under `id`, or undefined (answer Unprepared). */
  get(id: Buffer): PreparedStatement | undefined {
    return this.byId.get(id.toString('hex'));
  }

  /** Forgets every prepared statement; returns how many there were. */
  forget(): number {
    const count = this.byId.size;
    this.byId.clear();
    return count;
  }

  get size(): number {
    return this.byId.size;
  }
}

function describe(id: Buffer, query: string, keyspace: string | undefined, schema: Schema): { target: PreparedTarget; description: PreparedDescription } {
  const none = { bindSpec: undefined, bindColumns: [], pkIndexes: [] };
  const use = parseUse(query);
  if (use !== undefined) return { target: { kind: 'use', keyspace: use }, description: { id, ...none, result: undefined } };
  const select = parseSystemSelect(query);
  if (select) return { target: { kind: 'system', select }, description: { id, ...none, result: { spec: select.spec, columns: systemColumns(select) } } };
  const parsed = parseCql(query);
  const analysis = analyzeStatement(parsed, keyspace, schema);
  const { markerTypes, ...description } = analysis;
  return { target: { kind: 'cql', statement: parsed.statement, markerTypes, conditional: isConditional(parsed.statement) }, description: { id, ...description } };
}
