import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@chat/proto';
import type { ConversationRecord, MemberRecord, Role } from '../store/store.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.js';
import { type MembershipOp, membersAfter, planMembershipChange } from './membership.js';

const T0 = 1_700_000_000_000;

const m = (userId: string, role: Role = 'member', joinedAt = T0): MemberRecord => ({ userId, role, joinedAt, readSeq: 0, deliveredSeq: 0 });
/** ann owns; bob and cy are admins (cy joined later); dan and eve are members (eve joined later). */
const group = (members: MemberRecord[] = [m('ann', 'owner'), m('bob', 'admin'), m('cy', 'admin', T0 + 5), m('dan'), m('eve', 'member', T0 + 9)]): ConversationRecord => ({
  id: 'g_1',
  kind: 'group',
  title: 'Team',
  createdAt: T0,
  lastSeq: 7,
  lastActivityAt: T0,
  epoch: 1,
  changeSeq: 0,
  members,
});
const dm: ConversationRecord = { ...group([m('ann'), m('bob')]), id: 'd_1', kind: 'dm', title: null };

const add = (...userIds: string[]): MembershipOp => ({ $case: 'addMembers', value: { userIds } });
const remove = (userId: string): MembershipOp => ({ $case: 'removeMember', value: { userId } });
const setRole = (userId: string, role: string): MembershipOp => ({ $case: 'setRole', value: { userId, role } });
const rename = (title: string): MembershipOp => ({ $case: 'rename', value: { title } });
const plan = (record: ConversationRecord, by: string, op: MembershipOp, limits = DEFAULT_LIMITS) => planMembershipChange(record, by, op, limits);

describe('planMembershipChange', () => {
  it('refuses every op to a non-member (forbidden) and every op on a DM (bad_request)', () => {
    for (const op of [add('zed'), remove('dan'), remove('zed'), setRole('dan', 'admin'), rename('x')]) {
      expect(() => plan(group(), 'zed', op)).toThrow(ForbiddenError);
      expect(() => plan(dm, 'ann', op)).toThrow(BadRequestError);
    }
    expect(() => plan(dm, 'ann', remove('ann'))).toThrow(BadRequestError);
  });

  it('add_members: owner or admin; skips members already in and repeats; nothing new is a no-op', () => {
    expect(plan(group(), 'ann', add('fay', 'gus', 'fay', 'dan'))).toEqual({ add: ['fay', 'gus'], remove: [], roles: [] });
    expect(plan(group(), 'bob', add('fay'))).toEqual({ add: ['fay'], remove: [], roles: [] });
    expect(() => plan(group(), 'dan', add('fay'))).toThrow(ForbiddenError);
    expect(plan(group(), 'ann', add('dan', 'eve'))).toBeNull();
  });

  it('add_members: a group holds at most maxGroupMembers', () => {
    const limits = { ...DEFAULT_LIMITS, maxGroupMembers: 6 };
    expect(plan(group(), 'ann', add('fay'), limits)?.add).toEqual(['fay']);
    expect(() => plan(group(), 'ann', add('fay', 'gus'), limits)).toThrow(BadRequestError);
    // Members already in do not count twice.
    expect(plan(group(), 'ann', add('fay', 'dan'), limits)?.add).toEqual(['fay']);
  });

  it('remove_member: the owner removes anyone, an admin plain members only, a member nobody else', () => {
    expect(plan(group(), 'ann', remove('bob'))).toEqual({ add: [], remove: ['bob'], roles: [] });
    expect(plan(group(), 'ann', remove('dan'))).toEqual({ add: [], remove: ['dan'], roles: [] });
    expect(plan(group(), 'bob', remove('dan'))).toEqual({ add: [], remove: ['dan'], roles: [] });
    expect(() => plan(group(), 'bob', remove('ann'))).toThrow(ForbiddenError);
    expect(() => plan(group(), 'bob', remove('cy'))).toThrow(ForbiddenError);
    expect(() => plan(group(), 'dan', remove('eve'))).toThrow(ForbiddenError);
    // Removing someone who is not a member is a no-op for a moderator, forbidden for anyone else.
    expect(plan(group(), 'bob', remove('zed'))).toBeNull();
    expect(() => plan(group(), 'dan', remove('zed'))).toThrow(ForbiddenError);
  });

  it('leave: anyone; a leaving owner hands ownership to the oldest admin, else the oldest member', () => {
    expect(plan(group(), 'dan', remove('dan'))).toEqual({ add: [], remove: ['dan'], roles: [] });
    expect(plan(group(), 'cy', remove('cy'))).toEqual({ add: [], remove: ['cy'], roles: [] });
    expect(plan(group(), 'ann', remove('ann'))).toEqual({ add: [], remove: ['ann'], roles: [{ userId: 'bob', role: 'owner' }] });
    // The oldest admin wins even over an older member.
    const lateAdmin = group([m('ann', 'owner'), m('dan'), m('cy', 'admin', T0 + 5)]);
    expect(plan(lateAdmin, 'ann', remove('ann'))?.roles).toEqual([{ userId: 'cy', role: 'owner' }]);
    const noAdmin = group([m('ann', 'owner'), m('eve', 'member', T0 + 9), m('dan', 'member', T0 + 3)]);
    expect(plan(noAdmin, 'ann', remove('ann'))?.roles).toEqual([{ userId: 'dan', role: 'owner' }]);
    // The last member leaves: nobody to promote, the group is left without members.
    expect(plan(group([m('ann', 'owner')]), 'ann', remove('ann'))).toEqual({ add: [], remove: ['ann'], roles: [] });
  });

  it('set_role: the owner only; promoting to owner transfers ownership; the owner cannot demote themself', () => {
    expect(plan(group(), 'ann', setRole('dan', 'admin'))).toEqual({ add: [], remove: [], roles: [{ userId: 'dan', role: 'admin' }] });
    expect(plan(group(), 'ann', setRole('bob', 'member'))).toEqual({ add: [], remove: [], roles: [{ userId: 'bob', role: 'member' }] });
    expect(plan(group(), 'ann', setRole('dan', 'owner'))).toEqual({
      add: [],
      remove: [],
      roles: [
        { userId: 'dan', role: 'owner' },
        { userId: 'ann', role: 'admin' },
      ],
    });
    expect(() => plan(group(), 'bob', setRole('dan', 'admin'))).toThrow(ForbiddenError);
    expect(() => plan(group(), 'dan', setRole('dan', 'admin'))).toThrow(ForbiddenError);
    expect(() => plan(group(), 'ann', setRole('ann', 'admin'))).toThrow(BadRequestError);
    expect(() => plan(group(), 'ann', setRole('zed', 'admin'))).toThrow(NotFoundError);
    expect(() => plan(group(), 'ann', setRole('dan', 'king'))).toThrow(BadRequestError);
    // The role someone has already: a no-op.
    expect(plan(group(), 'ann', setRole('bob', 'admin'))).toBeNull();
    expect(plan(group(), 'ann', setRole('ann', 'owner'))).toBeNull();
  });

  it('rename: owner or admin; 1 to maxTitleChars after trimming; the same title is a no-op', () => {
    expect(plan(group(), 'ann', rename('  New name '))).toEqual({ add: [], remove: [], roles: [], title: 'New name' });
    expect(plan(group(), 'cy', rename('x'.repeat(100)))?.title).toHaveLength(100);
    expect(() => plan(group(), 'dan', rename('Mine'))).toThrow(ForbiddenError);
    expect(() => plan(group(), 'ann', rename('   '))).toThrow(BadRequestError);
    expect(() => plan(group(), 'ann', rename('x'.repeat(101)))).toThrow(BadRequestError);
    expect(plan(group(), 'ann', rename('Team'))).toBeNull();
  });
});

describe('membersAfter', () => {
  it('returns a new array: removed ones gone, roles changed, new members at the end with marks at lastSeq', () => {
    const before = group();
    const snapshot = structuredClone(before.members);
    const after = membersAfter(before, { add: ['fay'], remove: ['ann'], roles: [{ userId: 'bob', role: 'owner' }] }, T0 + 100);
    expect(after).not.toBe(before.members);
    expect(before.members).toEqual(snapshot);
    expect(after).toEqual([
      m('bob', 'owner'),
      m('cy', 'admin', T0 + 5),
      m('dan'),
      m('eve', 'member', T0 + 9),
      { userId: 'fay', role: 'member', joinedAt: T0 + 100, readSeq: 7, deliveredSeq: 7 },
    ]);
    // Unchanged members keep their records.
    expect(after[2]).toBe(before.members[3]);
  });
});
