import { describe, expect, it } from 'vitest';
import { BUCKET_SIZE, CHANGE_BUCKET_SIZE, bucketOf, bucketRanges, changeBucketOf } from './scylla-buckets.js';

describe('message buckets', () => {
  it('puts BUCKET_SIZE consecutive seqs in each partition', () => {
    expect(BUCKET_SIZE).toBe(1000);
    expect(bucketOf(1)).toBe(0);
    expect(bucketOf(999)).toBe(0);
    expect(bucketOf(1000)).toBe(1);
    expect(bucketOf(1999)).toBe(1);
    expect(bucketOf(2000)).toBe(2);
    expect(bucketOf(123_456_789)).toBe(123_456);
    expect(changeBucketOf(CHANGE_BUCKET_SIZE - 1)).toBe(0);
    expect(changeBucketOf(CHANGE_BUCKET_SIZE)).toBe(1);
  });

  it('splits a seq range into per-bucket ranges, ascending or descending', () => {
    expect(bucketRanges(5, 10)).toEqual([{ bucket: 0, from: 5, to: 10 }]);
    expect(bucketRanges(990, 1010)).toEqual([
      { bucket: 0, from: 990, to: 999 },
      { bucket: 1, from: 1000, to: 1010 },
    ]);
    expect(bucketRanges(990, 2005, true)).toEqual([
      { bucket: 2, from: 2000, to: 2005 },
      { bucket: 1, from: 1000, to: 1999 },
      { bucket: 0, from: 990, to: 999 },
    ]);
    expect(bucketRanges(10, 9)).toEqual([]);
    expect(bucketRanges(1000, 1000)).toEqual([{ bucket: 1, from: 1000, to: 1000 }]);
  });

  it('keeps a history page (<= 200) or a sync page (<= 500) within two partitions', () => {
    for (const limit of [200, 500]) {
      for (const start of [1, 500, 999, 1000, 1501]) {
        expect(bucketRanges(start, start + limit - 1).length).toBeLessThanOrEqual(2);
      }
    }
  });
});
