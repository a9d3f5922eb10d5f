import { fnv1a32 } from '@chat/proto';

/**
 * Which host should own each shard, given the live hosts: rendezvous
 * (highest-random-weight) hashing with bounded load. Every host computes the
 * same answer from the same host list, with no coordinator:
 * - balanced: each host gets floor(S/H) or ceil(S/H) shards;
 * - stable: a host joining or leaving moves close to the 1/H share that must
 *   move, not a reshuffle of everything.
 */
export function assignShards(shardCount: number, hosts: readonly string[]): string[] {
  if (hosts.length === 0) return [];
  const sorted = [...new Set(hosts)].sort();
  const base = Math.floor(shardCount / sorted.length);
  // How many hosts may take base + 1, so the total is exactly shardCount.
  let extras = shardCount - base * sorted.length;
  const load = new Map(sorted.map((h) => [h, 0]));
  const owners: string[] = new Array<string>(shardCount);
  // Shards with the strongest first preference are placed first, so a full
  // host turns away only shards that care least about it.
  const order = Array.from({ length: shardCount }, (_, shard) => ({
    shard,
    ranked: sorted.map((h) => ({ h, w: fnv1a32(`${h}/${shard}`) })).sort((a, b) => b.w - a.w || (a.h < b.h ? -1 : 1)),
  })).sort((a, b) => b.ranked[0]!.w - a.ranked[0]!.w || a.shard - b.shard);
  for (const { shard, ranked } of order) {
    for (const { h } of ranked) {
      const n = load.get(h)!;
      if (n < base || (n === base && extras > 0)) {
        if (n === base) extras--;
        load.set(h, n + 1);
        owners[shard] = h;
        break;
      }
    }
  }
  return owners;
}
