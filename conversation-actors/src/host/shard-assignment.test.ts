import { describe, expect, it } from 'vitest';
import { assignShards } from './shard-assignment.js';

const count = (owners: string[]) => {
  const m = new Map<string, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
};

describe('assignShards', () => {
  it('gives every shard an owner and every host floor or ceil of S/H shards', () => {
    for (const [shards, hosts] of [
      [256, ['a', 'b', 'c']],
      [256, ['h1', 'h2', 'h3', 'h4']],
      [10, ['x', 'y', 'z']],
      [7, ['only']],
      [3, ['a', 'b', 'c', 'd', 'e']],
    ] as const) {
      const owners = assignShards(shards, hosts);
      expect(owners).toHaveLength(shards);
      expect(owners.every((o) => hosts.includes(o as never))).toBe(true);
      const loads = [...count(owners).values()];
      expect(loads.reduce((a, b) => a + b, 0)).toBe(shards);
      for (const l of loads) expect([Math.floor(shards / hosts.length), Math.ceil(shards / hosts.length)]).toContain(l);
    }
  });

  it('is the same whatever order the hosts are listed in', () => {
    expect(assignShards(256, ['c', 'a', 'b'])).toEqual(assignShards(256, ['a', 'b', 'c']));
  });

  it('moves little more than the joining host’s share when a host joins', () => {
    const before = assignShards(256, ['a', 'b', 'c']);
    const after = assignShards(256, ['a', 'b', 'c', 'd']);
    const moved = before.filter((o, i) => o !== after[i]).length;
    const toD = after.filter((o) => o === 'd').length;
    expect(toD).toBe(64);
    // Only shards going to the new host should move, plus a little rebalancing.
    expect(moved).toBeLessThan(toD * 1.5);
  });

  it('hands a leaving host’s shards to the others and keeps most of theirs in place', () => {
    const before = assignShards(256, ['a', 'b', 'c']);
    const after = assignShards(256, ['a', 'b']);
    const keptByOthers = before.filter((o, i) => o !== 'c' && after[i] === o).length;
    const othersBefore = before.filter((o) => o !== 'c').length;
    expect(keptByOthers / othersBefore).toBeGreaterThan(0.8);
  });

  it('assigns nothing when no host is alive', () => {
    expect(assignShards(16, [])).toEqual([]);
  });
});
