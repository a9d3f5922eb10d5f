import { describe, expect, it } from 'vitest';
import { ChatMessage } from '@chat/proto';
import { REPLY_OVERHEAD_BYTES, fitPage, pageBudget } from './reply-budget.js';

function message(seq: number, bodyChars: number): ChatMessage {
  return ChatMessage.fromPartial({ conversationId: 'c1', seq, id: `m${seq}`, senderId: 'u1', clientMsgId: `k${seq}`, body: '€'.repeat(bodyChars), createdAt: 1 });
}
const seqs = (page: { messages: ChatMessage[] }) => page.messages.map((m) => m.seq);
const bytes = (list: ChatMessage[]) => list.reduce((n, m) => n + ChatMessage.encode(m).finish().length + 6, 0);

describe('fitPage', () => {
  const page = Array.from({ length: 10 }, (_, i) => message(i + 1, 1000)); // ~3 KB each
  const one = bytes([page[0]!]);

  it('keeps the first messages of a forward page and the last of a backward one, within the budget, and says it trimmed', () => {
    const forward = fitPage(page, true, one * 3 + 10);
    expect(seqs(forward)).toEqual([1, 2, 3]);
    expect(forward.trimmed).toBe(true);
    const backward = fitPage(page, false, one * 3 + 10);
    expect(seqs(backward)).toEqual([8, 9, 10]);
    expect(backward.trimmed).toBe(true);
    expect(bytes(backward.messages)).toBeLessThanOrEqual(one * 3 + 10);
  });

  it('leaves a page that fits as it is, and always keeps one message, however small the budget', () => {
    expect(fitPage(page, true, bytes(page))).toEqual({ messages: page, trimmed: false });
    expect(fitPage(page, true, Number.POSITIVE_INFINITY)).toEqual({ messages: page, trimmed: false });
    expect(seqs(fitPage(page, true, 1))).toEqual([1]);
    expect(seqs(fitPage(page, false, 1))).toEqual([10]);
    expect(fitPage([], false, 1)).toEqual({ messages: [], trimmed: false });
  });

  it('budgets a bus limit less the reply overhead; no limit, no budget', () => {
    expect(pageBudget(1024 * 1024)).toBe(1024 * 1024 - REPLY_OVERHEAD_BYTES);
    expect(pageBudget(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(pageBudget(1000)).toBe(0);
  });
});
