/**
 * Seqs per messages partition: bucket = floor(seq / BUCKET_SIZE). A message
 * row is ~0.5 KB typically and ~16 KB at worst (4,000-character body, 10
 * attachments, reactions), so a full bucket is ~0.5 MB typically and ~16 MB
 * at worst: well under the sizes where Scylla partitions get slow to compact
 * and read. A history page (at most 200) or a sync page (at most 500) spans at
 * most two buckets. 10,000 would make the worst case 160 MB.
 */
export const BUCKET_SIZE = 1000;

/** Change seqs per message_changes partition (rows are two bigints: ~30 KB per full bucket). */
export const CHANGE_BUCKET_SIZE = 1000;

/** The messages partition holding `seq`. Seqs are positive integers. */
export function bucketOf(seq: number): number {
  return Math.floor(seq / BUCKET_SIZE);
}

/** The message_changes partition holding `changeSeq`. */
export function changeBucketOf(changeSeq: number): number {
  return Math.floor(changeSeq / CHANGE_BUCKET_SIZE);
}

/** A range of seqs inside one bucket, [from, to], both inclusive. */
export interface BucketRange {
  bucket: number;
  from: number;
  to: number;
}

/**
 * The buckets covering seqs [from, to] (inclusive), with each one's part of
 * the range, in ascending order (`descending`: newest first). Empty when from > to.
 */
export function bucketRanges(from: number, to: number, descending = false): BucketRange[] {
  const ranges: BucketRange[] = [];
  if (from > to) return ranges;
  for (let bucket = bucketOf(from); bucket <= bucketOf(to); bucket++) {
    ranges.push({ bucket, from: Math.max(from, bucket * BUCKET_SIZE), to: Math.min(to, (bucket + 1) * BUCKET_SIZE - 1) });
  }
  return descending ? ranges.reverse() : ranges;
}
