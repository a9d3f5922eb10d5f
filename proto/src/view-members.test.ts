import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Conversation, Member } from './gen/chat/v1/model.js';
import { boundView, boundedMembers, compareViewOrder, firstInViewOrder } from './view-members.js';
import { conversationToJson } from './json.js';
import { conversationJsonSchema } from './replies.js';

const member = (userId: string, role = 'member'): Member => ({ userId, role, readSeq: 1, deliveredSeq: 2 });
const ids = (members: readonly Member[]) => members.map((m) => m.userId);

const view = (members: Member[]): Conversation => ({
  id: 'g_1',
  kind: 'group',
  title: 'g',
  members,
  createdAt: 1,
  lastSeq: 0,
  lastMessage: undefined,
  readSeq: 0,
  deliveredSeq: 0,
  unread: 0,
  changeSeq: 0,
});

describe('view members (member paging)', () => {
  const group = [member('zed'), member('bob', 'admin'), member('amy'), member('owner9', 'owner'), member('cat'), member('al', 'admin'), member('dan')];

  it('lists a group of at most the limit whole, in the order given', () => {
    expect(ids(boundedMembers(group, 'zed', 7))).toEqual(ids(group));
    expect(ids(boundedMembers(group, 'zed', 100))).toEqual(ids(group));
  });

  it('bounds a bigger one to the owner, the admins, then the others by user id', () => {
    expect(ids(boundedMembers(group, 'amy', 5))).toEqual(['owner9', 'al', 'bob', 'amy', 'cat']);
    expect(ids(boundedMembers(group, undefined, 5))).toEqual(['owner9', 'al', 'bob', 'amy', 'cat']);
  });

  it('gives a viewer left out the last place, so every view shows its viewer', () => {
    expect(ids(boundedMembers(group, 'zed', 5))).toEqual(['owner9', 'al', 'bob', 'amy', 'zed']);
    expect(ids(boundedMembers(group, 'zed', 2))).toEqual(['owner9', 'zed']);
    // Not a member (never asked for, but harmless): the shared list.
    expect(ids(boundedMembers(group, 'nobody', 3))).toEqual(['owner9', 'al', 'bob']);
  });

  it('finds the same first members as a full sort, for any group and limit', () => {
    const roles = fc.constantFrom('owner', 'admin', 'member', 'member', 'member');
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9]{1,4}$/), roles), { selector: ([id]) => id, maxLength: 60 }), fc.integer({ min: 1, max: 70 }), (rows, limit) => {
        const members = rows.map(([id, role]) => member(id, role));
        expect(ids(firstInViewOrder(members, limit))).toEqual(ids([...members].sort(compareViewOrder).slice(0, limit)));
      }),
    );
  });

  it('sets memberCount, and the JSON says a view is truncated only when it is', () => {
    const bounded = boundView(view(group), 'zed', 3);
    expect(bounded.memberCount).toBe(7);
    expect(ids(bounded.members)).toEqual(['owner9', 'al', 'zed']);
    const json = conversationJsonSchema.parse(conversationToJson(bounded));
    expect(json).toMatchObject({ memberCount: 7, membersTruncated: true });
    const whole = conversationJsonSchema.parse(conversationToJson(boundView(view(group), 'zed', 7)));
    expect(whole.memberCount).toBe(7);
    expect(whole).not.toHaveProperty('membersTruncated');
    // A view never bounded (an old actor's) still says how many it lists.
    expect(conversationToJson(view(group.slice(0, 2))).memberCount).toBe(2);
    // Bounding twice changes nothing.
    expect(boundView(bounded, 'amy', 3)).toBe(bounded);
  });
});
