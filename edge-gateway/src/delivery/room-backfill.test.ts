import { describe, expect, it } from 'vitest';
import { silentLogger } from '@chat/platform';
import type { ChatMessage, Event } from '@chat/proto';
import { RoomBackfill } from './room-backfill.js';

const message = (seq: number): ChatMessage => ({
  conversationId: 'g',
  seq,
  id: `m${seq}`,
  senderId: 'alice',
  clientMsgId: `k${seq}`,
  body: `#${seq}`,
  attachments: [],
  createdAt: seq,
  editedAt: undefined,
  deleted: false,
  reactions: {},
  changeSeq: 0,
});
const live = (seq: number): Event => ({ originReceivedAt: 1, kind: { $case: 'messageNew', value: message(seq) } });
const typing: Event = { originReceivedAt: 0, kind: { $case: 'typing', value: { conversationId: 'g', userId: 'bob', active: true } } };

function describeEvent(e: Event): string {
  return e.kind?.$case === 'messageNew' ? `new ${e.kind.value.seq}` : (e.kind?.$case ?? 'none');
}

function harness() {
  const delivered: string[] = [];
  const reads: { afterSeq: number; resolve(m: ChatMessage[]): void; reject(e: Error): void }[] = [];
  const backfill = new RoomBackfill({
    read: (_c, _u, afterSeq) => new Promise((resolve, reject) => reads.push({ afterSeq, resolve, reject })),
    deliver: (_c, e) => delivered.push(describeEvent(e)),
    logger: silentLogger(),
  });
  const offer = (e: Event) => {
    if (!backfill.hold('g', e)) delivered.push(describeEvent(e));
  };
  return { backfill, delivered, reads, offer };
}

describe('RoomBackfill', () => {
  it('delivers what the join’s round trip missed, then the held live events, in seq order and each message once', async () => {
    const { backfill, delivered, reads, offer } = harness();
    backfill.start('g', 'bob', 3);
    offer(live(6)); // arrived live while the read ran
    offer(typing);
    offer(live(7));
    expect(delivered).toEqual([]);
    reads[0]!.resolve([message(4), message(5), message(6)]);
    await Promise.resolve();
    expect(delivered).toEqual(['new 4', 'new 5', 'new 6', 'typing', 'new 7']);
    // Held no more.
    offer(live(8));
    expect(delivered.at(-1)).toBe('new 8');
  });

  it('releases the held events when the read fails, and runs one read per room at a time', async () => {
    const { backfill, delivered, reads, offer } = harness();
    backfill.start('g', 'bob', 0);
    backfill.start('g', 'carol', 0);
    expect(reads).toHaveLength(1);
    offer(live(1));
    reads[0]!.reject(new Error('no actor'));
    await new Promise((r) => setTimeout(r, 0));
    expect(delivered).toEqual(['new 1']);
  });

  it('delivers nothing at or before the joiner’s view', async () => {
    const { backfill, delivered, reads } = harness();
    backfill.start('g', 'bob', 5);
    reads[0]!.resolve([message(5), message(6)]);
    await Promise.resolve();
    expect(delivered).toEqual(['new 6']);
  });
});
