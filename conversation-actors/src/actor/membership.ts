import type { AddMembers, ProtocolLimits, RemoveMember, RenameConversation, SetRole } from '@chat/proto';
import type { ChatStore, ConversationRecord, MemberRecord, MemberView, Role } from '../store/store.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.js';
import type { EventPublisher } from './event-publisher.js';

/** A membership or title change, as the actor request carries it. */
export type MembershipOp =
  | { $case: 'addMembers'; value: AddMembers }
  | { $case: 'removeMember'; value: RemoveMember }
  | { $case: 'setRole'; value: SetRole }
  | { $case: 'rename'; value: RenameConversation };

/** What a permitted change does; user ids, not yet checked against the known users. */
export interface MembershipPlan {
  /** New members, each joining as a plain member. */
  add: string[];
  remove: string[];
  roles: { userId: string; role: Role }[];
  title?: string | undefined;
}

const ROLES: readonly string[] = ['owner', 'admin', 'member'];

/**
 * The change `op` by `callerId` makes to the conversation, or null when it
 * changes nothing (adding members who are in already, removing a non-member,
 * giving someone the role they have, the same title), so retries are
 * harmless and publish nothing.
 *
 * Pure: the permission rules of docs/protocol.md, in one place, for every mode:
 * - the caller must be a member (ForbiddenError, nothing leaks);
 * - DMs have fixed members and no title or roles: every one of these ops on a
 *   DM is BadRequestError (no role could do it, so it is the request that is
 *   wrong, not the caller's rights);
 * - add_members and rename: owner or admin; set_role: the owner only;
 * - remove_member: anyone may remove themself (leave); the owner may remove
 *   anyone; an admin may remove plain members only: not the owner, and not
 *   another admin (peers cannot oust each other; demoting or removing an
 *   admin is the owner's call);
 * - a group never loses its last owner while it has members: when the owner
 *   leaves, the oldest admin (earliest joinedAt), else the oldest member,
 *   becomes owner; the owner cannot demote themself, only hand ownership on
 *   (set_role of another member to owner makes the former owner an admin);
 * - a group holds at most limits.maxGroupMembers (BadRequestError);
 * - a title is 1..limits.maxTitleChars characters after trimming.
 */
export function planMembershipChange(
  record: ConversationRecord,
  callerId: string,
  op: MembershipOp,
  limits: ProtocolLimits,
): MembershipPlan | null {
  const caller = record.members.find((m) => m.userId === callerId);
  if (!caller) throw new ForbiddenError();
  if (record.kind !== 'group') throw new BadRequestError('a DM has fixed members, no roles and no title');
  const moderator = caller.role === 'owner' || caller.role === 'admin';
  switch (op.$case) {
    case 'addMembers': {
      if (!moderator) throw new ForbiddenError('only the owner or an admin may add members');
      const present = new Set(record.members.map((m) => m.userId));
      const add = [...new Set(op.value.userIds)].filter((id) => !present.has(id));
      if (add.length === 0) return null;
      if (record.members.length + add.length > limits.maxGroupMembers) {
        throw new BadRequestError(`a group holds at most ${limits.maxGroupMembers} members`);
      }
      return { add, remove: [], roles: [] };
    }
    case 'removeMember': {
      const targetId = op.value.userId;
      if (targetId === callerId) return leave(record, caller);
      if (!moderator) throw new ForbiddenError('only the owner or an admin may remove another member');
      const target = record.members.find((m) => m.userId === targetId);
      if (!target) return null;
      if (target.role === 'owner') throw new ForbiddenError('nobody may remove the owner');
      if (target.role === 'admin' && caller.role !== 'owner') throw new ForbiddenError('only the owner may remove an admin');
      return { add: [], remove: [targetId], roles: [] };
    }
    case 'setRole': {
      const { userId: targetId, role } = op.value;
      if (!ROLES.includes(role)) throw new BadRequestError('role must be owner, admin or member');
      if (caller.role !== 'owner') throw new ForbiddenError('only the owner may change roles');
      const target = record.members.find((m) => m.userId === targetId);
      if (!target) throw new NotFoundError(`${targetId} is not a member of this conversation`);
      if (target.role === role) return null;
      if (targetId === callerId) {
        throw new BadRequestError('the owner cannot demote themself; make another member owner instead');
      }
      if (role === 'owner') {
        return { add: [], remove: [], roles: [{ userId: targetId, role: 'owner' }, { userId: callerId, role: 'admin' }] };
      }
      return { add: [], remove: [], roles: [{ userId: targetId, role: role as Role }] };
    }
    case 'rename': {
      if (!moderator) throw new ForbiddenError('only the owner or an admin may rename a group');
      // The gateway checks this too; the actor is the last line for any bus client.
      const title = op.value.title.trim();
      if (title.length === 0 || title.length > limits.maxTitleChars) {
        throw new BadRequestError(`a title is 1 to ${limits.maxTitleChars} characters`);
      }
      if (title === record.title) return null;
      return { add: [], remove: [], roles: [], title };
    }
  }
}

/** The caller leaves; an owner hands ownership to the oldest admin, else the oldest member. */
function leave(record: ConversationRecord, caller: MemberRecord): MembershipPlan {
  const plan: MembershipPlan = { add: [], remove: [caller.userId], roles: [] };
  if (caller.role !== 'owner') return plan;
  const others = record.members.filter((m) => m.userId !== caller.userId);
  const successor = oldest(others.filter((m) => m.role === 'admin')) ?? oldest(others);
  if (successor) plan.roles.push({ userId: successor.userId, role: 'owner' });
  return plan;
}

/** Earliest joinedAt; ties go to the first in member order (the store's: joinedAt, then user id). */
function oldest(members: MemberRecord[]): MemberRecord | undefined {
  let best: MemberRecord | undefined;
  for (const m of members) if (!best || m.joinedAt < best.joinedAt) best = m;
  return best;
}

/**
 * The members after `plan`, as a NEW array (the actor's member index is keyed
 * by the array, so it must never be changed in place). New members join now,
 * with their read and delivered marks at the current lastSeq: what was said
 * before they joined is readable in history but not counted as unread.
 */
export function membersAfter(record: ConversationRecord, plan: MembershipPlan, now: number): MemberRecord[] {
  const removed = new Set(plan.remove);
  const roles = new Map(plan.roles.map((r) => [r.userId, r.role]));
  const kept = record.members
    .filter((m) => !removed.has(m.userId))
    .map((m) => {
      const role = roles.get(m.userId);
      return role && role !== m.role ? { ...m, role } : m;
    });
  const joined = plan.add.map((userId): MemberRecord => ({
    userId,
    role: 'member',
    joinedAt: now,
    readSeq: record.lastSeq,
    deliveredSeq: record.lastSeq,
  }));
  return [...kept, ...joined];
}

/** The outcome of changeMembership: the head after the change, and who left it. */
export interface MembershipOutcome {
  changed: boolean;
  members: MemberRecord[];
  title: string | null;
  /** The conversation's change counter after the change (unchanged when nothing changed). */
  changeSeq: number;
  /** Users no longer members (they get conversation.removed). */
  removed: string[];
  /** Users who became members (they get their view on their own subject: their gateways may not follow the conversation yet). */
  added: string[];
}

/**
 * Plans `op` (planMembershipChange), refuses unknown users to add with
 * NotFoundError, and persists the change with `epoch` (fenced by the store
 * like an append) and the next change counter. Does not touch `record`: the
 * caller installs the returned members, title and changeSeq as its new head
 * once this resolves. Must run in the conversation's mailbox, so a change
 * never interleaves with sends.
 */
export async function changeMembership(
  deps: { store: ChatStore; limits: ProtocolLimits; now: number; epoch: () => number },
  record: ConversationRecord,
  callerId: string,
  op: MembershipOp,
): Promise<MembershipOutcome> {
  const plan = planMembershipChange(record, callerId, op, deps.limits);
  if (!plan) return { changed: false, members: record.members, title: record.title, changeSeq: record.changeSeq, removed: [], added: [] };
  if (plan.add.length > 0) {
    const known = new Set((await deps.store.getUsers(plan.add)).map((u) => u.id));
    const unknown = plan.add.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new NotFoundError(`unknown users: ${unknown.slice(0, 10).join(', ')}`);
  }
  const members = membersAfter(record, plan, deps.now);
  const added = new Set(plan.add);
  // Every stored change moves the counter sync's changesSince compares against.
  const changeSeq = record.changeSeq + 1;
  await deps.store.applyMembershipChange({
    conversationId: record.id,
    epoch: deps.epoch(),
    add: members.filter((m) => added.has(m.userId)),
    remove: plan.remove,
    roles: plan.roles,
    title: plan.title,
    changeSeq,
  });
  return { changed: true, members, title: plan.title ?? record.title, changeSeq, removed: plan.remove, added: plan.add };
}

/**
 * The events of a stored change, published after the reply: the members who
 * were already members get their views as ConversationViews on the
 * conversation's subject (one bus message, or a few for a group whose marks
 * exceed the bus's message limit: EventPublisher splits them), each new
 * member their own conversation.updated on their subject (which makes their
 * gateways follow the conversation), each removed user conversation.removed.
 */
export function publishMembershipChange(
  events: EventPublisher,
  conversationId: string,
  views: readonly MemberView[],
  change: { added: readonly string[]; removed: readonly string[] },
): void {
  const added = new Set(change.added);
  const staying = views.filter((v) => !added.has(v.userId));
  if (staying.length > 0) events.conversationViews(conversationId, staying);
  for (const { userId, view } of views) if (added.has(userId)) events.conversationUpdated(userId, view);
  for (const userId of change.removed) events.conversationRemoved(userId, conversationId);
}
