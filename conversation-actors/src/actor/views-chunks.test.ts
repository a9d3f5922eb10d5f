import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conversation, MemberMarks } from '@chat/proto';
import { chunkConversationViews, eventBytes } from './views-chunks.js';

function sharedView(members: number): Conversation {
  return {
    id: 'group-1',
    kind: 'group',
    title: 'a big group',
    members: Array.from({ length: members }, (_, i) => ({ userId: `member-${i}`, role: i === 0 ? 'owner' : 'member', readSeq: i, deliveredSeq: i })),
    createdAt: 1_700_000_000_000,
    lastSeq: 12_345,
    lastMessage: undefined,
    readSeq: 0,
    deliveredSeq: 0,
    unread: 0,
    changeSeq: 7,
    memberCount: 100_000,
  };
}

const markArb: fc.Arbitrary<Omit<MemberMarks, 'userId'>> = fc.record({
  readSeq: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 40 })),
  deliveredSeq: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 40 })),
  unread: fc.oneof(fc.constant(0), fc.nat()),
  mentions: fc.option(fc.nat({ max: 1000 }), { nil: undefined }),
  role: fc.option(fc.constantFrom('owner', 'admin', 'member'), { nil: undefined }),
});

/** Marks with distinct user ids of any length (ASCII and not), in a random order. */
const marksArb = fc
  .uniqueArray(fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }), { maxLength: 400 })
  .chain((ids) => fc.tuple(fc.constant(ids), fc.array(markArb, { minLength: ids.length, maxLength: ids.length })))
  .map(([ids, marks]) => ids.map((userId, i): MemberMarks => ({ userId, ...marks[i]! })));

describe('chunkConversationViews', () => {
  it('keeps every chunk of more than one mark within the limit, every mark exactly once and in order, the same shared view in each', () => {
    fc.assert(
      fc.property(marksArb, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 200, max: 20_000 }), (marks, viewMembers, limit) => {
        const shared = sharedView(viewMembers);
        const chunks = chunkConversationViews(shared, marks, limit);
        expect(chunks.length).toBeGreaterThanOrEqual(1);
        expect(chunks.flatMap((c) => c.marks)).toEqual(marks);
        // Not even one mark fits beside the shared view: one chunk, refused once (not once per member).
        if (chunks.length === 1 && marks.length > 1 && eventBytes(chunks[0]!) > limit) {
          for (const m of marks) expect(eventBytes({ shared, marks: [m] })).toBeGreaterThan(limit - 4);
          return;
        }
        for (const c of chunks) {
          expect(c.shared).toBe(shared);
          if (marks.length > 0) expect(c.marks.length).toBeGreaterThan(0);
          if (c.marks.length > 1) expect(eventBytes(c)).toBeLessThanOrEqual(limit);
        }
        // As few as a greedy fill allows: no two neighbours would have fit together.
        for (let i = 1; i < chunks.length; i++) {
          expect(eventBytes({ shared, marks: [...chunks[i - 1]!.marks, chunks[i]!.marks[0]!] })).toBeGreaterThan(limit - 4);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('sends 100,000 members under a 64 KiB limit in chunks that each fill most of it', () => {
    const marks = Array.from({ length: 100_000 }, (_, i): MemberMarks => ({ userId: `user-${String(i).padStart(6, '0')}`, readSeq: 2000, deliveredSeq: 2000, unread: i % 50, mentions: undefined, role: 'member' }));
    const limit = 64 * 1024;
    const chunks = chunkConversationViews(sharedView(50), marks, limit);
    const sizes = chunks.map(eventBytes);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(limit);
    // All but the last are at least 90 % full: the split costs few extra events.
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(limit * 0.9);
    expect(chunks.flatMap((c) => c.marks.map((m) => m.userId))).toEqual(marks.map((m) => m.userId));
  });

  it('leaves everything in one event when it fits, or when the bus has no limit', () => {
    const marks = Array.from({ length: 1000 }, (_, i): MemberMarks => ({ userId: `u${i}`, readSeq: 1, deliveredSeq: 1, unread: 0, mentions: undefined, role: 'member' }));
    const shared = sharedView(50);
    expect(chunkConversationViews(shared, marks, Number.POSITIVE_INFINITY)).toEqual([{ shared, marks }]);
    expect(chunkConversationViews(shared, marks, eventBytes({ shared, marks }) + 4)).toEqual([{ shared, marks }]);
    expect(chunkConversationViews(shared, marks, eventBytes({ shared, marks }) - 1).length).toBe(2);
    expect(chunkConversationViews(shared, [], 100)).toEqual([{ shared, marks: [] }]);
  });

  it('gives a mark that cannot fit with the shared view a chunk of its own rather than dropping it', () => {
    const shared = sharedView(0);
    const long = (i: number): MemberMarks => ({ userId: `u${i}-${'x'.repeat(300)}`, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined, role: undefined });
    const short = (i: number): MemberMarks => ({ userId: `u${i}`, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined, role: undefined });
    const marks = [short(0), long(1), short(2)];
    const limit = eventBytes({ shared, marks: [short(0)] }) + 8;
    const chunks = chunkConversationViews(shared, marks, limit);
    expect(chunks.map((c) => c.marks.map((m) => m.userId.slice(0, 2)))).toEqual([['u0'], ['u1'], ['u2']]);
  });

  it('sends one event with every mark when not even one fits beside the shared view, not one event per member', () => {
    const marks = Array.from({ length: 1000 }, (_, i): MemberMarks => ({ userId: `u${i}`, readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined, role: undefined }));
    const shared = sharedView(50);
    expect(chunkConversationViews(shared, marks, 10)).toEqual([{ shared, marks }]);
  });
});
