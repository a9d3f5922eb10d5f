import type { CqlType, Statement, Term } from './cql-ast.js';
import { type Bound, UNSET, encodeParam } from './cql-codec.js';
import { invalid } from './cql-errors.js';
import type { ColumnDef, TableDef } from './cql-schema.js';
import { literalBytes } from './cql-types.js';

/** What a bind marker is bound to: a column (its name and type), or LIMIT (an int). */
export interface Receiver {
  name: string;
  type: CqlType;
}

/** The largest key component a node accepts. */
const MAX_KEY_BYTES = 65_535;

/**
 * The receiver of each bind marker of a DML statement, in marker order (the
 * types the driver learns when it prepares the statement). Throws
 * "Undefined column name" (invalid) for a column the table lacks.
 */
export function receiversOf(statement: Statement, table: TableDef): Receiver[] {
  const out: Receiver[] = [];
  const visit = (term: Term | undefined, receiver: Receiver): void => {
    if (term?.kind === 'bind') out[term.index] = receiver;
  };
  const column = (name: string): Receiver => table.column(name);
  switch (statement.type) {
    case 'select':
      for (const r of statement.where) visit(r.term, column(r.column));
      visit(statement.limit, { name: '[limit]', type: 'int' });
      break;
    case 'insert':
      statement.columns.forEach((name, i) => visit(statement.values[i], column(name)));
      break;
    case 'update':
      for (const a of statement.assignments) visit(a.term, column(a.column));
      for (const r of statement.where) visit(r.term, column(r.column));
      if (statement.conditions.kind === 'columns') for (const r of statement.conditions.conditions) visit(r.term, column(r.column));
      break;
    case 'delete':
      for (const r of statement.where) visit(r.term, column(r.column));
      if (statement.conditions.kind === 'columns') for (const r of statement.conditions.conditions) visit(r.term, column(r.column));
      break;
    default:
      break;
  }
  return out;
}

/**
 * The values of one execution: the positional parameters encoded for their
 * receivers (see cql-codec.ts), and the statement's literals typed by their
 * columns. The amount of parameters must equal the amount of markers
 * ("Invalid amount of bind variables", invalid).
 */
export class Binding {
  private constructor(private readonly values: Bound[]) {}

  static bind(receivers: readonly Receiver[], markers: number, params: readonly unknown[] | undefined, prepared: boolean): Binding {
    const given = params?.length ?? 0;
    if (given !== markers) throw invalid(`Invalid amount of bind variables: expected ${markers}, got ${given}`);
    const values = (params ?? []).map((value, i) => {
      const receiver = receivers[i] ?? { name: `marker ${i}`, type: 'blob' };
      return encodeParam(value, receiver.type, prepared, receiver.name);
    });
    return new Binding(values);
  }

  /** A term's value for `column`: bytes, null, or UNSET. */
  value(term: Term, column: ColumnDef): Bound {
    if (term.kind === 'literal') return literalBytes(column.type, term.literal, column.name);
    return term.index < this.values.length ? (this.values[term.index] as Bound) : UNSET;
  }

  /** A key component: never null or unset, at most 64 KiB. */
  key(term: Term, column: ColumnDef): Buffer {
    const value = this.value(term, column);
    if (value === UNSET) throw invalid(`Invalid unset value for column ${column.name}`);
    if (value === null) throw invalid(`Invalid null value in condition for column ${column.name}`);
    if (value.length > MAX_KEY_BYTES) throw invalid(`Key length of ${value.length} is longer than maximum of ${MAX_KEY_BYTES}`);
    return value;
  }

  /** The serialized size of the bound parameters (what a batch's size is measured by). */
  get size(): number {
    return this.values.reduce<number>((sum, v) => sum + (Buffer.isBuffer(v) ? v.length : 0), 0);
  }
}
