import { describe, expect, it } from 'vitest';
import { newGroupId } from './ids.js';
import { DEFAULT_SHARDS, fnv1a32, shardOf } from './shards.js';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});

describe('shardOf', () => {
  it('keeps the shard of known ids (changing these is a data migration)', () => {
    expect(shardOf('a', DEFAULT_SHARDS)).toBe(44);
    expect(shardOf('foobar', DEFAULT_SHARDS)).toBe(104);
    expect(shardOf('g_abc', DEFAULT_SHARDS)).toBe(37);
    expect(shardOf('d_XYZ', DEFAULT_SHARDS)).toBe(151);
    expect(shardOf('conversation-1', DEFAULT_SHARDS)).toBe(128);
    expect(shardOf('conversation-1', 16)).toBe(0);
    expect(shardOf('d_XYZ', 7)).toBe(3);
  });

  it('is stable across calls', () => {
    const id = newGroupId();
    expect(shardOf(id, DEFAULT_SHARDS)).toBe(shardOf(id, DEFAULT_SHARDS));
  });

  it('stays within [0, n)', () => {
    for (const n of [1, 2, 7, 16, 256, 1024]) {
      for (let i = 0; i < 500; i++) {
        const shard = shardOf(newGroupId(), n);
        expect(Number.isInteger(shard)).toBe(true);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(n);
      }
    }
  });

  it('spreads 10,000 random ids roughly evenly over 16 shards', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 10_000; i++) counts[shardOf(newGroupId(), 16)]! += 1;
    for (const count of counts) {
      expect(count).toBeGreaterThanOrEqual(400);
      expect(count).toBeLessThanOrEqual(850);
    }
  });
});
