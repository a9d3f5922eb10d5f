import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import type { CqlType } from './cql-ast.js';
import { encodeParam } from './cql-codec.js';
import { compareValues, literalBytes, validateValue } from './cql-types.js';

const enc = (value: unknown, type: CqlType): Buffer => encodeParam(value, type, true, 'c') as Buffer;
const sorted = (type: CqlType, values: unknown[]): unknown[] =>
  values
    .map((v) => ({ v, b: enc(v, type) }))
    .sort((x, y) => compareValues(type, x.b, y.b))
    .map((x) => x.v);

describe('compareValues orders as the server’s comparators do', () => {
  it('numbers and timestamps numerically, signed', () => {
    expect(sorted('int', [3, -2, 0, 2147483647, -2147483648])).toEqual([-2147483648, -2, 0, 3, 2147483647]);
    expect(sorted('bigint', ['-1', '10', '2'].map((s) => types.Long.fromString(s))).map(String)).toEqual(['-1', '2', '10']);
    expect(sorted('double', [1.5, -0.5, 10])).toEqual([-0.5, 1.5, 10]);
    expect(sorted('timestamp', [new Date(5), new Date(-5), new Date(0)]).map((d) => (d as Date).getTime())).toEqual([-5, 0, 5]);
  });

  it('text by UTF-8 bytes (uppercase before lowercase, accents after ASCII), booleans false first', () => {
    expect(sorted('text', ['b', 'é', 'B', 'a', ''])).toEqual(['', 'B', 'a', 'b', 'é']);
    expect(sorted('boolean', [true, false])).toEqual([false, true]);
  });

  it('timeuuids by their time, not their bytes', () => {
    const early = types.TimeUuid.fromDate(new Date(1000), 0, 'ffffff', 'ff');
    const late = types.TimeUuid.fromDate(new Date(2000), 0, '000000', '00');
    expect(sorted('timeuuid', [late, early]).map(String)).toEqual([early.toString(), late.toString()]);
  });

  it('an empty value first', () => {
    expect(compareValues('bigint', Buffer.alloc(0), enc(-5, 'bigint'))).toBeLessThan(0);
  });
});

describe('validateValue (what a node accepts for a column)', () => {
  it.each<[CqlType, Buffer, RegExp]>([
    ['int', Buffer.alloc(8), /Expected 4 or 0 byte int \(8\)/],
    ['bigint', Buffer.alloc(4), /Expected 8 or 0 byte long \(4\)/],
    ['boolean', Buffer.alloc(2), /Expected 1 or 0 byte value \(2\)/],
    ['uuid', Buffer.alloc(3), /Expected 16 or 0 byte uuid \(3\)/],
    ['timeuuid', types.Uuid.random().getBuffer(), /Unsupported UUID version \(4\)/],
    ['text', Buffer.from([0xff, 0xfe]), /invalid UTF-8/],
    ['ascii', Buffer.from('é'), /Invalid byte for ascii/],
  ])('refuses a bad %s', (type, value, message) => {
    let caught: unknown;
    try {
      validateValue(type, value, 'c');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(errors.ResponseError);
    expect((caught as errors.ResponseError).code).toBe(types.responseErrorCodes.invalid);
    expect((caught as Error).message).toMatch(message);
  });

  it('accepts empty values of fixed-size types and valid ones', () => {
    expect(() => validateValue('int', Buffer.alloc(0), 'c')).not.toThrow();
    expect(() => validateValue('timeuuid', types.TimeUuid.now().getBuffer(), 'c')).not.toThrow();
    expect(() => validateValue('text', Buffer.from('ok ✓'), 'c')).not.toThrow();
  });
});

describe('literalBytes (constants of the CQL text)', () => {
  it('serializes a constant exactly as the driver serializes the same JS value', () => {
    expect(literalBytes('bigint', { kind: 'integer', value: '-3' }, 'c')).toEqual(enc(types.Long.fromNumber(-3), 'bigint'));
    expect(literalBytes('int', { kind: 'integer', value: '7' }, 'c')).toEqual(enc(7, 'int'));
    expect(literalBytes('double', { kind: 'float', value: '0.25' }, 'c')).toEqual(enc(0.25, 'double'));
    expect(literalBytes('timestamp', { kind: 'string', value: '2024-01-02T03:04:05.006Z' }, 'c')).toEqual(enc(new Date('2024-01-02T03:04:05.006Z'), 'timestamp'));
    expect(literalBytes('boolean', { kind: 'boolean', value: true }, 'c')).toEqual(enc(true, 'boolean'));
    expect(literalBytes('text', { kind: 'null' }, 'c')).toBeNull();
  });

  it('refuses a bigint constant out of range and a float for an integer column', () => {
    expect(() => literalBytes('bigint', { kind: 'integer', value: '9223372036854775808' }, 'c')).toThrow(/Invalid INTEGER constant/);
    expect(() => literalBytes('int', { kind: 'float', value: '1.5' }, 'c')).toThrow(/Invalid FLOAT constant \(1.5\) for "c" of type int/);
    expect(() => literalBytes('blob', { kind: 'string', value: 'x' }, 'c')).toThrow(/Invalid STRING constant/);
  });
});
