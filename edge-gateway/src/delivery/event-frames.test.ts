import { describe, expect, it } from 'vitest';
import { type Conversation, boundView } from '@chat/proto';
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

describe('memberViewFrames of a bounded view (member paging)', () => {
  // Six members, views bounded to three: owner, admin, then plain members by user id.
  const all: Conversation = {
    ...shared,
    members: [
      { userId: 'zed', role: 'member', readSeq: 1, deliveredSeq: 2 },
      { userId: 'ann', role: 'owner', readSeq: 12, deliveredSeq: 12 },
      { userId: 'cat', role: 'member', readSeq: 3, deliveredSeq: 4 },
      { userId: 'dan', role: 'admin', readSeq: 5, deliveredSeq: 6 },
      { userId: 'bob', role: 'member', readSeq: 7, deliveredSeq: 8 },
      { userId: 'eve', role: 'member', readSeq: 0, deliveredSeq: 0 },
    ],
  };
  const LIMIT = 3;

  it('gives every member the frame of their own bounded view: the shared list, or it with them in the last place', () => {
    const frameFor = memberViewFrames(boundView(all, undefined, LIMIT));
    for (const member of all.members) {
      const marks = { userId: member.userId, role: member.role, readSeq: member.readSeq!, deliveredSeq: member.deliveredSeq!, unread: 2 };
      const own = boundView({ ...all, readSeq: marks.readSeq, deliveredSeq: marks.deliveredSeq, unread: 2 }, member.userId, LIMIT);
      const expected = eventToFrame({ originReceivedAt: 0, kind: { $case: 'conversationUpdated', value: own } });
      const frame = frameFor(marks);
      expect(frame).toBe(expected);
      const view = JSON.parse(frame).conversation;
      expect(view.memberCount).toBe(6);
      expect(view.membersTruncated).toBe(true);
      expect(view.members).toHaveLength(LIMIT);
      expect(view.members.map((m: { userId: string }) => m.userId)).toContain(member.userId);
      expect(view.members.slice(0, 2).map((m: { userId: string }) => m.userId)).toEqual(['ann', 'dan']);
    }
  });

  it('lists a small group whole, with its memberCount and no membersTruncated', () => {
    const frame = memberViewFrames(boundView(shared, undefined, LIMIT))({ userId: 'bob', readSeq: 3, deliveredSeq: 3, unread: 0 });
    const view = JSON.parse(frame).conversation;
    expect(view.members.map((m: { userId: string }) => m.userId)).toEqual(['ann', 'bob']);
    expect(view.memberCount).toBe(2);
    expect(view).not.toHaveProperty('membersTruncated');
  });
});
