import { describe, expect, it } from 'vitest';
import { MemoryPresenceBackend } from './memory-presence-backend.js';
import { CONTRACT_TTL_MS, CONTRACT_TYPING_TTL_MS, runPresenceBackendContract } from '@chat/testkit/presence-backend-contract';

runPresenceBackendContract('memory', async () => new MemoryPresenceBackend({ ttlMs: CONTRACT_TTL_MS, typingTtlMs: CONTRACT_TYPING_TTL_MS }));

describe('MemoryPresenceBackend', () => {
  it('rejects a non-positive ttl', () => {
    expect(() => new MemoryPresenceBackend({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => new MemoryPresenceBackend({ ttlMs: Number.NaN })).toThrow(RangeError);
    expect(() => new MemoryPresenceBackend({ ttlMs: 1000, typingTtlMs: 0 })).toThrow(RangeError);
  });
});
