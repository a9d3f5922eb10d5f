import { ConflictError, NotFoundError, StaleEpochError } from '../../errors.js';
import { types } from 'cassandra-driver';
import type { ConversationRecord, MembershipChange, MessageUpdate, NewConversation, ReceiptMark, ReceiptMarksRecord, Role } from '../store.js';
import { changeBucketOf } from './scylla-buckets.js';
import { messageUpdateParams, toRecord } from './scylla-rows.js';
import { readHead, readMembers, readMessage, readRecord } from './scylla-reads.js';
import { type ScyllaSession, type Statement, fenceTimestamp, num, stmt } from './scylla-session.js';
import { storedSummaryRoles, summaryStatements } from './scylla-summary.js';

// The writes other than appends. Each is fenced by one lightweight transaction
// on the conversation's head, then writes rows keyed elsewhere (DESIGN.md,
// "Fencing" and "Failures"): refused, nothing is written; failed after the
// fence, the change is not acknowledged and its retry converges (every row
// write is a plain idempotent upsert of the new state).

/**
 * Creates the head with `IF NOT EXISTS` (two concurrent creates: one wins),
 * then the winner's member rows. The loser, or a caller finding the
 * conversation, re-writes the founders' rows while change_seq is 0 (no
 * membership change yet), repairing a create whose member rows were lost.
 */
export async function createConversation(
  s: ScyllaSession,
  c: NewConversation,
  epoch: number,
): Promise<{ record: ConversationRecord; created: boolean }> {
  const founders = JSON.stringify(c.members.map((m) => [m.userId, m.role]));
  // Before the head is read: a repair decided on a head with change_seq 0 must
  // lose to a membership change made after that read.
  const ts = fenceTimestamp();
  const { applied } = await s.lwt('createHead', [c.id, c.kind, c.title ?? types.unset, c.createdAt, c.createdAt, epoch, founders]);
  const head = await readHead(s, c.id);
  if (!head) throw new NotFoundError(`conversation ${c.id} vanished after its create`);
  if (head.changeSeq === 0) {
    const rows: Statement[] = head.founders.flatMap(([userId, role]) => [
      stmt('putMember', [c.id, userId, role, head.createdAt]),
      stmt('putUserConversation', [userId, c.id]),
    ]);
    // While change_seq is 0 the founders are the members: the summary is theirs.
    rows.push(...summaryStatements(c.id, new Map(head.founders.map(([userId, role]) => [userId, { role }])), []));
    await s.loggedBatch(rows, ts);
  }
  const record = toRecord(head, await readMembers(s, c.id));
  return { record, created: applied };
}

/**
 * Raises the head's epoch to `epoch` and its change_seq to `changeSeq` (never
 * lowering it), and sets the title if given: one LWT, a second one when the
 * stored change_seq is already higher. StaleEpochError / NotFoundError when refused.
 */
async function fenceChange(s: ScyllaSession, conversationId: string, epoch: number, changeSeq: number, title?: string): Promise<void> {
  const first =
    title === undefined
      ? await s.lwt('raiseChange', [epoch, changeSeq, conversationId, epoch, changeSeq])
      : await s.lwt('raiseChangeTitle', [epoch, changeSeq, title, conversationId, epoch, changeSeq]);
  if (first.applied) return;
  const current = first.current;
  if (!current || current['epoch'] === null || current['epoch'] === undefined) throw new NotFoundError(`conversation ${conversationId} does not exist`);
  const recorded = num(current['epoch']);
  if (epoch < recorded) throw new StaleEpochError(conversationId, epoch, recorded);
  // The stored change_seq is already at or above ours: keep it, still record the epoch (and title).
  const second =
    title === undefined
      ? await s.lwt('raiseEpoch', [epoch, conversationId, epoch])
      : await s.lwt('raiseEpochTitle', [epoch, title, conversationId, epoch]);
  if (second.applied) return;
  if (!second.current || second.current['epoch'] === null || second.current['epoch'] === undefined) {
    throw new NotFoundError(`conversation ${conversationId} does not exist`);
  }
  throw new StaleEpochError(conversationId, epoch, num(second.current['epoch']));
}

/**
 * updateMessage: one point read (the message exists, is not deleted), the
 * fence, then the change index row and the message row, in that order: a
 * change index row whose update did not land is skipped by its reader (it
 * checks the message's change_seq); the reverse could hide a change from sync.
 */
export async function updateMessage(s: ScyllaSession, update: MessageUpdate): Promise<void> {
  const { message, epoch } = update;
  const id = message.conversationId;
  const ts = fenceTimestamp();
  const [head, stored] = await Promise.all([readHead(s, id), readMessage(s, id, message.seq)]);
  if (!head) throw new NotFoundError(`no message ${message.seq} in conversation ${id}`);
  if (epoch < head.epoch) throw new StaleEpochError(id, epoch, head.epoch);
  if (!stored || message.seq > head.lastSeq) throw new NotFoundError(`no message ${message.seq} in conversation ${id}`);
  // Deletion is final: a late or buggy writer cannot bring a body back.
  if (stored.deleted && !message.deleted) throw new ConflictError(`message ${message.seq} in ${id} is deleted`);
  await fenceChange(s, id, epoch, message.changeSeq);
  await s.write('putChange', [id, changeBucketOf(message.changeSeq), message.changeSeq, message.seq], ts);
  await s.write('updateMessage', messageUpdateParams(message), ts);
}

/**
 * applyMembershipChange: reads the members (to add only non-members and set
 * roles only of present ones) and the summary's rows, fences (epoch,
 * change_seq, title in the LWT), then one logged batch of member, receipt,
 * user index and member_summary rows (the new count, owner and admins).
 * Removals are row deletes: one tombstone per member leaving.
 */
export async function applyMembershipChange(s: ScyllaSession, change: MembershipChange): Promise<void> {
  const id = change.conversationId;
  const ts = fenceTimestamp();
  const [members, summarized] = await Promise.all([readMembers(s, id), storedSummaryRoles(s, id)]);
  await fenceChange(s, id, change.epoch, change.changeSeq, change.title);
  // One batch shares one write timestamp, so no row may be both deleted and
  // written in it, nor one cell written twice: the final state of each member
  // is worked out here (SQLite's order: removes, adds, then roles).
  const final = new Map(members.map((m) => [m.userId, { role: m.role, joinedAt: m.joinedAt, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq }]));
  const removed = new Set<string>();
  for (const userId of change.remove) {
    if (final.delete(userId)) removed.add(userId);
  }
  const added = new Set<string>();
  for (const m of change.add) {
    if (final.has(m.userId)) continue;
    final.set(m.userId, { role: m.role, joinedAt: m.joinedAt, readSeq: m.readSeq, deliveredSeq: m.deliveredSeq });
    added.add(m.userId);
  }
  const roles = new Map<string, Role>();
  for (const r of change.roles) {
    const m = final.get(r.userId);
    if (!m) continue;
    m.role = r.role;
    roles.set(r.userId, r.role);
  }
  const statements: Statement[] = [];
  for (const userId of removed) {
    if (added.has(userId)) continue; // re-added: the writes below overwrite every column
    statements.push(stmt('dropMember', [id, userId]), stmt('dropReceipt', [id, userId]), stmt('dropUserConversation', [userId, id]));
  }
  for (const userId of added) {
    const m = final.get(userId);
    if (!m) continue;
    statements.push(
      stmt('putMember', [id, userId, m.role, m.joinedAt]),
      stmt('putReceipt', [id, userId, m.readSeq, m.deliveredSeq]),
      stmt('putUserConversation', [userId, id]),
    );
  }
  for (const [userId, role] of roles) if (!added.has(userId)) statements.push(stmt('setRole', [role, id, userId]));
  statements.push(...summaryStatements(id, final, summarized));
  await s.loggedBatch(statements, ts);
}

/**
 * markReceipt: reads the head (fence, lastSeq cap), the membership and the
 * stored marks, in parallel, then writes the merged marks if they moved. A
 * read-modify-write: safe because the owning actor serialises a
 * conversation's writes, and a stale owner is refused by the epoch check.
 */
export async function markReceipt(s: ScyllaSession, mark: ReceiptMark): Promise<ReceiptMarksRecord> {
  const id = mark.conversationId;
  // Before the reads: a mark computed from them and written late (its owner
  // stalled past its lease) loses to any mark the next owner wrote since.
  const ts = fenceTimestamp();
  const [head, member, stored] = await Promise.all([readHead(s, id), s.row('getMember', [id, mark.userId]), s.row('getReceipt', [id, mark.userId])]);
  if (!head) throw new NotFoundError(`${mark.userId} is not a member of conversation ${id}`);
  if (mark.epoch < head.epoch) throw new StaleEpochError(id, mark.epoch, head.epoch);
  if (!member) throw new NotFoundError(`${mark.userId} is not a member of conversation ${id}`);
  const was = { readSeq: stored ? num(stored['read_seq']) : 0, deliveredSeq: stored ? num(stored['delivered_seq']) : 0 };
  const given = { readSeq: mark.readSeq ?? 0, deliveredSeq: mark.deliveredSeq ?? 0 };
  const readSeq = Math.max(was.readSeq, Math.min(given.readSeq, head.lastSeq));
  const deliveredSeq = Math.max(was.deliveredSeq, Math.min(Math.max(given.deliveredSeq, given.readSeq), head.lastSeq));
  if (readSeq !== was.readSeq || deliveredSeq !== was.deliveredSeq) await s.write('putReceipt', [id, mark.userId, readSeq, deliveredSeq], ts);
  return { readSeq, deliveredSeq };
}

/** loadConversation. */
export function loadConversation(s: ScyllaSession, conversationId: string): Promise<ConversationRecord | null> {
  return readRecord(s, conversationId);
}
