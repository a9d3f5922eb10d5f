import { types } from 'cassandra-driver';
import { decodeValue, typeInfo } from './cql-codec.js';
import type { EngineResult } from './cql-engine.js';

/** The address every emulated result says it came from. */
export const EMULATED_HOST = '127.0.0.1:9042';

type ResultSetClass = new (
  response: object,
  host: string,
  triedHosts: object,
  speculativeExecutions: number,
  consistency: number,
  isSchemaInAgreement: boolean,
) => types.ResultSet;
type RowClass = new (columns: object[]) => types.Row;

// The driver's typings declare ResultSet and Row as interfaces; at run time
// they are the classes the driver itself instantiates for every response.
const { ResultSet, Row } = types as unknown as { ResultSet: ResultSetClass; Row: RowClass };

/**
 * A real `types.ResultSet`, built the way the driver builds one from a
 * response frame: `rows` are `types.Row` instances with properties by column
 * name, values decoded by the driver's Encoder (so bigint is a Long,
 * timestamp a Date, ...); `columns` are `{name, type: {code, info}}`;
 * `pageState` is the hex string of the paging state or null; `info.warnings`
 * holds the server's warnings (null when none). A write without result rows
 * has `rows` undefined, exactly like the driver's.
 */
export function toResultSet(result: EngineResult, consistency: number): types.ResultSet {
  const columns = result.rows?.columns.map((c) => ({ name: c.name, type: typeInfo(c.type) }));
  const rows = result.rows?.rows.map((values) => {
    const row = new Row(columns ?? []);
    result.rows?.columns.forEach((c, i) => {
      row[c.name] = decodeValue(values[i] ?? null, c.type);
    });
    return row;
  });
  const response = {
    rows,
    meta: columns ? { columns, ...(result.pageState ? { pageState: result.pageState } : {}) } : undefined,
    flags: result.warnings.length > 0 ? { warnings: result.warnings } : undefined,
  };
  return new ResultSet(response, EMULATED_HOST, {}, 0, consistency, true);
}
