import { errors, types } from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import { InternalError, NotFoundError, StaleEpochError, StoreCannotWriteError, StoreUnavailableError, isNoRetry } from '../../errors.js';
import { isRetryable, toStoreError } from './scylla-errors.js';

const codes = types.responseErrorCodes;

describe('toStoreError (the driver error classes, constructed as the driver does)', () => {
  it('maps unreachable and timed-out to StoreUnavailableError (code unavailable, retryable)', () => {
    const cases: Error[] = [
      new errors.NoHostAvailableError({ '10.0.0.1:9042': new Error('ECONNREFUSED') }),
      new errors.OperationTimedOutError('The host 10.0.0.1:9042 did not reply before timeout 12000 ms', '10.0.0.1:9042'),
      new errors.BusyConnectionError('10.0.0.1:9042', 2048, 1),
    ];
    for (const err of cases) {
      const mapped = toStoreError(err, 'appendMessages');
      expect(mapped, err.constructor.name).toBeInstanceOf(StoreUnavailableError);
      expect(mapped.code).toBe('unavailable');
      expect(mapped.message).toMatch(/^appendMessages: /);
      expect(mapped.cause).toBe(err);
      expect(isRetryable(err)).toBe(true);
    }
  });

  it('maps server answers meaning "not now" to StoreUnavailableError', () => {
    for (const [name, code] of [
      ['unavailable', codes.unavailableException],
      ['overloaded', codes.overloaded],
      ['bootstrapping', codes.isBootstrapping],
      ['write timeout', codes.writeTimeout],
      ['read timeout', codes.readTimeout],
      ['read failure', codes.readFailure],
      ['write failure', codes.writeFailure],
      ['server error', codes.serverError],
    ] as const) {
      const err = new errors.ResponseError(code, `${name} happened`);
      expect(toStoreError(err, 'x'), name).toBeInstanceOf(StoreUnavailableError);
      expect(isRetryable(err), name).toBe(true);
      // Only replicas failing the write itself mean the store cannot write (not resent by the gateway).
      expect(isNoRetry(toStoreError(err, 'x')), name).toBe(code === codes.writeFailure);
    }
    expect(toStoreError(new errors.ResponseError(codes.writeFailure, 'disk full'), 'x')).toBeInstanceOf(StoreCannotWriteError);
  });

  it('maps our own mistakes (syntax, invalid, unauthorized, config, protocol, auth) to InternalError', () => {
    const cases: Error[] = [
      new errors.ResponseError(codes.syntaxError, 'line 1:0 no viable alternative'),
      new errors.ResponseError(codes.invalid, 'unconfigured table messages'),
      new errors.ResponseError(codes.unauthorized, 'no SELECT permission'),
      new errors.ResponseError(codes.configError, 'bad config'),
      new errors.ResponseError(codes.protocolError, 'bad frame'),
      new errors.ResponseError(codes.alreadyExists, 'exists'),
      new errors.AuthenticationError('bad credentials'),
      new errors.ArgumentError('wrong parameter type'),
      new TypeError('Not a valid bigint'),
    ];
    for (const err of cases) {
      const mapped = toStoreError(err, 'x');
      expect(mapped, err.message).toBeInstanceOf(InternalError);
      expect(mapped.code).toBe('internal');
      expect(isRetryable(err)).toBe(false);
    }
    expect(toStoreError(new errors.ResponseError(codes.syntaxError, 'oops'), 'x').message).toMatch(/CQL error 0x2000/);
  });

  it('passes the store’s typed errors through unchanged', () => {
    const stale = new StaleEpochError('c', 1, 2);
    const missing = new NotFoundError('nope');
    expect(toStoreError(stale, 'x')).toBe(stale);
    expect(toStoreError(missing, 'x')).toBe(missing);
    // A fenced write is not retryable as it is: the writer must stop.
    expect(isRetryable(stale)).toBe(false);
  });
});
