import { createRequire } from 'node:module';
import { defaultOptions, types } from 'cassandra-driver';
import type { CqlType } from './cql-ast.js';
import { invalid } from './cql-errors.js';
import { TYPE_CODES, validateValue } from './cql-types.js';

// Values cross the emulator exactly as they cross the wire: a parameter is
// serialized by the driver's own Encoder (protocol v4, the client's default
// encoding options) with the column's type, validated as a node validates it,
// stored as bytes, and decoded by the same Encoder when read. So a JS value
// the driver refuses for a column throws the driver's own error, and rows
// come back exactly as the driver returns them (bigint: Long, timestamp:
// Date, int: number, ...).

/** The type information the driver's Encoder takes. */
export interface TypeInfo {
  code: number;
  info: null;
}

/**
 * The driver's type descriptor of any CQL type, collections included (a
 * list/set's element type or a map's [key, value] types in `info`): for the
 * values outside CQL_TYPES that the wire server sends (the system tables'
 * inet, set<text>, map<text, text>).
 */
export interface DriverType {
  code: number;
  info?: DriverType | DriverType[] | null;
}

interface DriverEncoder {
  encode(value: unknown, type: DriverType): unknown;
  decode(buffer: Buffer, type: DriverType): unknown;
}

interface EncoderClass {
  new (protocolVersion: number, options: object): DriverEncoder;
  guessDataType(value: unknown): TypeInfo | null;
}

// The driver exports Encoder at run time but its typings do not declare it;
// require() returns the same module instance the ESM import does.
const { Encoder } = createRequire(import.meta.url)('cassandra-driver') as { Encoder: EncoderClass };

const encoder = new Encoder(types.protocolVersion.v4, defaultOptions());

/** Marks a parameter left unset (`undefined` or `types.unset`): the column is not written. */
export const UNSET: unique symbol = Symbol('unset');

/** A bound value as the server receives it: bytes, null (a cell tombstone when written), or unset. */
export type Bound = Buffer | null | typeof UNSET;

/** The Encoder's type information for a column type. */
export function typeInfo(type: CqlType): TypeInfo {
  return { code: TYPE_CODES[type], info: null };
}

/**
 * One positional parameter as the server receives it. Prepared: the driver
 * encodes it with the column's type (its TypeError/RangeError propagates as
 * the driver's would). Unprepared: the driver guesses a type from the JS
 * value (a number becomes a double) and the server validates the bytes
 * against the column, as a real node does. `undefined`/`types.unset` are unset.
 */
export function encodeParam(value: unknown, type: CqlType, prepared: boolean, column: string): Bound {
  if (value === undefined || value === types.unset) return UNSET;
  if (value === null) return null;
  let target = typeInfo(type);
  if (!prepared) {
    const guessed = Encoder.guessDataType(value);
    if (!guessed) throw new TypeError(`Target data type could not be guessed, you should use prepared statements for accurate type mapping. Value: ${String(value)}`);
    target = { code: guessed.code, info: null };
  }
  const encoded = encoder.encode(value, target);
  if (encoded === null) return null;
  if (!Buffer.isBuffer(encoded)) return UNSET;
  validateValue(type, encoded, column);
  return encoded;
}

/** Stored bytes as the driver decodes them for a column of `type` (null stays null). */
export function decodeValue(value: Buffer | null, type: CqlType): unknown {
  return value === null ? null : encoder.decode(value, typeInfo(type));
}

/** A LIMIT parameter (an int): unset means no limit; null and non-positive values are refused. */
export function decodeLimit(bound: Bound): number | undefined {
  if (bound === UNSET) return undefined;
  if (bound === null || bound.length === 0) throw invalid('Invalid null value of limit');
  const limit = bound.readInt32BE(0);
  if (limit <= 0) throw invalid('LIMIT must be strictly positive');
  return limit;
}

/** `value` serialized by the driver's Encoder (protocol v4) as `type`, as the driver would send it; null and undefined give null. */
export function encodeAs(value: unknown, type: DriverType): Buffer | null {
  if (value === null || value === undefined) return null;
  const encoded = encoder.encode(value, type);
  return Buffer.isBuffer(encoded) ? encoded : null;
}
