import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@chat/proto';
import { silentLogger } from '@chat/platform';
import { RemoteError } from '../errors.js';
import { ERROR_CODE_KEY, GRPC_STATUS_OF, RETRY_AFTER_KEY, toServiceError } from './status-codes.js';

describe('protocol error codes as gRPC statuses', () => {
  it('maps every code to its own status', () => {
    const statuses = ERROR_CODES.map((code) => GRPC_STATUS_OF[code]);
    expect(statuses.every((s) => typeof s === 'number' && s !== status.OK)).toBe(true);
    expect(new Set(statuses).size).toBe(ERROR_CODES.length);
  });

  it('is the table docs/grpc-api.md shows', () => {
    const doc = readFileSync(new URL('../../../docs/grpc-api.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| `([A-Z_]+)` \((\d+)\) \|/gm)].map((m) => [m[1], m[2], Number(m[3])]);
    expect(rows).toEqual(ERROR_CODES.map((code) => [code, status[GRPC_STATUS_OF[code]], GRPC_STATUS_OF[code]]));
  });

  it('keeps a typed error’s code, message and retry delay; hides anything else as INTERNAL', () => {
    const limited = toServiceError(new RemoteError('rate_limited', 'slow down', 250), silentLogger(), 'message.send');
    expect(limited).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: 'slow down' });
    expect(limited.metadata?.get(ERROR_CODE_KEY)).toEqual(['rate_limited']);
    expect(limited.metadata?.get(RETRY_AFTER_KEY)).toEqual(['250']);
    const bug = toServiceError(new TypeError('secret detail'), silentLogger(), 'message.send');
    expect(bug).toMatchObject({ code: status.INTERNAL, details: 'internal error' });
  });
});
