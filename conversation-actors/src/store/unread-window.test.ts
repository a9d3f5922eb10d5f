import { describe, expect, it } from 'vitest';
import { type UnreadCount, type UnreadRow, countUnread } from './unread-window.js';

/** The straightforward count countUnread replaced: every member against every window row. */
function naive(rows: readonly UnreadRow[], from: number, marks: readonly { userId: string; readSeq: number }[]): Map<string, UnreadCount> {
  const counts = new Map<string, UnreadCount>();
  for (const m of marks) {
    let unread = Math.max(0, from - (m.readSeq + 1));
    let mentions = 0;
    for (const r of rows) {
      if (r.seq <= m.readSeq || r.senderId === m.userId || r.deleted) continue;
      unread++;
      if (r.mentions && r.mentions.some((x) => x === m.userId || x === '@all' || x === '@here')) mentions++;
    }
    counts.set(m.userId, { unread, mentions });
  }
  return counts;
}

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('countUnread', () => {
  it('equals the member × window count on varied data: own, deleted, mentioned, broadcast, marks inside and outside the window', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const next = random(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
      const users = Array.from({ length: 2 + Math.floor(next() * 12) }, (_, i) => `u${i}`);
      const from = 1 + Math.floor(next() * 50);
      const length = Math.floor(next() * 80);
      // Some seqs missing (placeholders never read back), some deleted, some mentioning.
      const rows: UnreadRow[] = [];
      for (let seq = from; seq < from + length; seq++) {
        if (next() < 0.1) continue;
        const senderId = pick(users);
        const r = next();
        const mentions = r < 0.15 ? [pick(['@all', '@here'])] : r < 0.4 ? [pick(users), pick(users)] : r < 0.45 ? [pick(users), '@all', senderId] : undefined;
        rows.push({ seq, senderId, deleted: next() < 0.2, mentions });
      }
      const lastSeq = from + length;
      const marks = users.map((userId) => ({ userId, readSeq: Math.floor(next() * (lastSeq + 5)) }));
      expect(countUnread(rows, from, marks), `seed ${seed}`).toEqual(naive(rows, from, marks));
    }
  });

  it('counts one message once however often it names the member, and never the member’s own', () => {
    const rows: UnreadRow[] = [
      { seq: 1, senderId: 'a', deleted: false, mentions: ['b', 'b', '@all'] },
      { seq: 2, senderId: 'b', deleted: false, mentions: ['b', '@here'] },
      { seq: 3, senderId: 'a', deleted: true, mentions: ['b'] },
      { seq: 4, senderId: 'c', deleted: false, mentions: ['b'] },
    ];
    expect(countUnread(rows, 1, [{ userId: 'b', readSeq: 0 }])).toEqual(new Map([['b', { unread: 2, mentions: 2 }]]));
    expect(countUnread(rows, 1, [{ userId: 'b', readSeq: 1 }])).toEqual(new Map([['b', { unread: 1, mentions: 1 }]]));
  });

  it('counts 100,000 members over a full window, each as the straightforward count does', () => {
    const rows: UnreadRow[] = Array.from({ length: 1000 }, (_, i) => ({ seq: 1001 + i, senderId: `u${i % 500}`, deleted: i % 7 === 0, mentions: i % 10 === 0 ? ['@all'] : [`u${i}`] }));
    const marks = Array.from({ length: 100_000 }, (_, i) => ({ userId: `u${i}`, readSeq: i % 2000 }));
    const counts = countUnread(rows, 1001, marks);
    expect(counts.size).toBe(100_000);
    for (const i of [0, 1, 499, 1500, 99_999]) expect(counts.get(`u${i}`)).toEqual(naive(rows, 1001, [marks[i]!]).get(`u${i}`));
  });
});
