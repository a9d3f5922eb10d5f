import { describe, expect, it } from 'vitest';
import { type ChatMessage, eventFrame, messageToJson } from '@chat/proto';
import { toResponse } from './watch-stream.js';

const message: ChatMessage = {
  conversationId: 'g-123_x',
  seq: 42,
  id: 'm1',
  senderId: 'bob',
  clientMsgId: 'c1',
  body: '"seq":7 in a body',
  attachments: [],
  createdAt: 1,
  editedAt: undefined,
  deleted: false,
  reactions: {},
  changeSeq: 0,
};

describe('a WatchEvents response of an event frame', () => {
  it('names the event, carries the frame, and keys message events by conversation and seq', () => {
    const frame = eventFrame('message.new', { message: messageToJson(message) });
    expect(toResponse(frame)).toEqual({ name: 'message.new', json: frame, conversationId: 'g-123_x', seq: 42 });
    const updated = eventFrame('message.updated', { message: messageToJson({ ...message, seq: 9 }) });
    expect(toResponse(updated)).toMatchObject({ name: 'message.updated', conversationId: 'g-123_x', seq: 9 });
    const delta = eventFrame('message.delta', { conversationId: 'g-123_x', seq: 5, offset: 3, text: 'lo' });
    expect(toResponse(delta)).toEqual({ name: 'message.delta', json: delta, conversationId: 'g-123_x', seq: 5 });
    const receipt = eventFrame('receipt', { conversationId: 'g-123_x', userId: 'bob', deliveredSeq: 1, readSeq: 1 });
    expect(toResponse(receipt)).toEqual({ name: 'receipt', json: receipt, conversationId: '', seq: 0 });
  });
});
