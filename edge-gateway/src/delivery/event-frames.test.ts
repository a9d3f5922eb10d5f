import { describe, expect, it } from 'vitest';
import type { Conversation } from '@chat/proto';
import { eventToFrame, memberViewFrames } from './event-frames.js';

const shared: Conversation = {
  id: 'g1',
  kind: 'group',
  title: 'a "title" with ,"readSeq":9 in it',
  members: [
    { userId: 'ann', role: 'owner' },
    { userId: 'bob', role: 'member' },
  ],
  createdAt: 1_700_000_000_000,
  lastSeq: 12,
  lastMessage: {
    conversationId: 'g1',
    seq: 12,
    id: 'm12',
    senderId: 'ann',
    clientMsgId: 'c12',
    body: 'quoting JSON: ,"readSeq":1,"deliveredSeq":2,"unread":3,"changeSeq":4}}',
    attachments: [],
    createdAt: 1_700_000_000_500,
    editedAt: undefined,
    deleted: false,
    reactions: {},
    changeSeq: 0,
  },
  readSeq: 0,
  deliveredSeq: 0,
  unread: 0,
  changeSeq: 7,
};

describe('memberViewFrames', () => {
  it('renders exactly the frame of each member’s own view, even when strings hold the marks’ field names', () => {
    const frameFor = memberViewFrames(shared);
    for (const marks of [
      { userId: 'ann', readSeq: 12, deliveredSeq: 12, unread: 0 },
      { userId: 'bob', readSeq: 3, deliveredSeq: 10, unread: 9 },
    ]) {
      const own: Conversation = { ...shared, readSeq: marks.readSeq, deliveredSeq: marks.deliveredSeq, unread: marks.unread };
      const expected = eventToFrame({ originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: own } });
      expect(frameFor(marks)).toBe(expected);
      expect(JSON.parse(frameFor(marks)).conversation.unread).toBe(marks.unread);
    }
  });
});
