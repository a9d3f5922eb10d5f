import { types } from 'cassandra-driver';
import type { CqlType, Literal } from './cql-ast.js';
import { invalid } from './cql-errors.js';

// What a node knows about each column type: its protocol code, how it
// validates the bytes a client sends, how it orders two values (clustering
// order, range restrictions, IF conditions), and how a constant written in the
// CQL text becomes bytes. Values are kept serialized, as a node keeps them.

const codes = types.dataTypes;

/** The protocol type code of each column type (what the driver encodes and decodes with). */
export const TYPE_CODES: Readonly<Record<CqlType, number>> = {
  text: codes.text,
  varchar: codes.varchar,
  ascii: codes.ascii,
  bigint: codes.bigint,
  int: codes.int,
  boolean: codes.boolean,
  timestamp: codes.timestamp,
  blob: codes.blob,
  double: codes.double,
  uuid: codes.uuid,
  timeuuid: codes.timeuuid,
};

const FIXED_SIZES: Partial<Record<CqlType, { bytes: number; what: string }>> = {
  int: { bytes: 4, what: 'byte int' },
  bigint: { bytes: 8, what: 'byte long' },
  timestamp: { bytes: 8, what: 'byte long for date' },
  double: { bytes: 8, what: 'byte value for a double' },
  boolean: { bytes: 1, what: 'byte value' },
  uuid: { bytes: 16, what: 'byte uuid' },
  timeuuid: { bytes: 16, what: 'byte uuid' },
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The server-side validation of a value sent for a column of `type`, with
 * Cassandra's messages: fixed-size types must have their size (or be empty),
 * text must be UTF-8, ascii 7-bit, a timeuuid a version-1 UUID. Throws
 * ResponseError (invalid). This is what refuses, e.g., a JS number sent
 * unprepared (guessed as an 8-byte double) for an int column.
 */
export function validateValue(type: CqlType, value: Buffer, column: string): void {
  const fixed = FIXED_SIZES[type];
  if (fixed && value.length !== 0 && value.length !== fixed.bytes) {
    throw invalid(`Expected ${fixed.bytes} or 0 ${fixed.what} (${value.length}) for column ${column}`);
  }
  if (type === 'timeuuid' && value.length === 16 && value[6]! >> 4 !== 1) throw invalid(`Unsupported UUID version (${value[6]! >> 4}) for timeuuid column ${column}`);
  if (type === 'ascii' && value.some((b) => b > 0x7f)) throw invalid(`Invalid byte for ascii in column ${column}`);
  if (type === 'text' || type === 'varchar') {
    try {
      utf8.decode(value);
    } catch {
      throw invalid(`String didn't validate: invalid UTF-8 bytes for column ${column}`);
    }
  }
}

/**
 * Orders two serialized values of `type` as the server's comparator does:
 * text, ascii and blob by unsigned bytes (UTF-8 byte order), numbers and
 * timestamps numerically (signed), false < true, timeuuids by time then
 * bytes, uuids by version, then time for version 1, then bytes. An empty
 * value sorts first.
 */
export function compareValues(type: CqlType, a: Buffer, b: Buffer): number {
  if (a.length === 0 || b.length === 0) return a.length - b.length;
  switch (type) {
    case 'int':
      return sign(a.readInt32BE(0) - b.readInt32BE(0));
    case 'bigint':
    case 'timestamp': {
      const x = a.readBigInt64BE(0);
      const y = b.readBigInt64BE(0);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'double':
      return sign(a.readDoubleBE(0) - b.readDoubleBE(0));
    case 'timeuuid':
      return compareUuidTimes(a, b) || Buffer.compare(a, b);
    case 'uuid': {
      const versions = sign((a[6]! >> 4) - (b[6]! >> 4));
      if (versions !== 0) return versions;
      return (a[6]! >> 4 === 1 ? compareUuidTimes(a, b) : 0) || Buffer.compare(a, b);
    }
    default:
      return Buffer.compare(a, b);
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** The 60-bit timestamps of two version-1 UUIDs, compared. */
function compareUuidTimes(a: Buffer, b: Buffer): number {
  const time = (u: Buffer): bigint =>
    ((BigInt(u.readUInt16BE(6)) & 0x0fffn) << 48n) | (BigInt(u.readUInt16BE(4)) << 32n) | BigInt(u.readUInt32BE(0));
  const x = time(a);
  const y = time(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A constant of the CQL text as the bytes a node stores for a column of
 * `type` (null for `null`: a cell tombstone). Integers fit bigint, int,
 * timestamp (ms) and double columns; floats double; strings text, varchar,
 * ascii and timestamp (ISO-8601); true/false boolean; 0x... blob. Anything
 * else is Cassandra's "Invalid <KIND> constant (...) for "col" of type t".
 */
export function literalBytes(type: CqlType, literal: Literal, column: string): Buffer | null {
  if (literal.kind === 'null') return null;
  const refuse = (): never => {
    const text = 'value' in literal ? String(literal.value) : '';
    throw invalid(`Invalid ${literal.kind.toUpperCase()} constant (${text}) for "${column}" of type ${type}`);
  };
  switch (literal.kind) {
    case 'string': {
      if (type === 'text' || type === 'varchar') return Buffer.from(literal.value, 'utf8');
      if (type === 'ascii') return Buffer.from(literal.value, 'latin1');
      if (type === 'timestamp') {
        const ms = Date.parse(literal.value);
        return Number.isNaN(ms) ? refuse() : int64(BigInt(ms));
      }
      return refuse();
    }
    case 'integer': {
      if (type === 'bigint' || type === 'timestamp') {
        const n = BigInt(literal.value);
        return n < INT64_MIN || n > INT64_MAX ? refuse() : int64(n);
      }
      if (type === 'int') {
        const n = Number(literal.value);
        if (n < -(2 ** 31) || n >= 2 ** 31) return refuse();
        const out = Buffer.alloc(4);
        out.writeInt32BE(n);
        return out;
      }
      return type === 'double' ? float64(Number(literal.value)) : refuse();
    }
    case 'float':
      return type === 'double' ? float64(Number(literal.value)) : refuse();
    case 'boolean':
      return type === 'boolean' ? Buffer.from([literal.value ? 1 : 0]) : refuse();
    case 'hex':
      return type === 'blob' ? Buffer.from(literal.value, 'hex') : refuse();
  }
}

function int64(n: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigInt64BE(n);
  return out;
}

function float64(n: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeDoubleBE(n);
  return out;
}
