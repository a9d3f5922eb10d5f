import type { MarkReceipt } from '@chat/proto';
import type { ChatStore, MemberRecord, ReceiptMarksRecord } from '../store/store.js';

/**
 * The member's receipt marks after `mark`, given its current marks and the
 * conversation's lastSeq. Pure. Guarantees:
 * - marks only move forward: a lower or absent value leaves a mark as it is;
 * - a mark above lastSeq is clamped to lastSeq. Clamped rather than refused:
 *   a client cannot legitimately hold a seq past lastSeq, so an overshoot is
 *   a client's rounding ("everything I have"), and refusing it would only add
 *   an error path to a frequent, fire-and-forget op; the stored invariant
 *   (marks <= lastSeq) holds either way;
 * - deliveredSeq >= readSeq: reading a message means it was delivered.
 */
export function nextMarks(current: ReceiptMarksRecord, mark: MarkReceipt, lastSeq: number): ReceiptMarksRecord {
  const clamp = (seq: number | undefined): number => Math.min(seq ?? 0, lastSeq);
  const readSeq = Math.max(current.readSeq, clamp(mark.readSeq));
  const deliveredSeq = Math.max(current.deliveredSeq, clamp(mark.deliveredSeq), readSeq);
  return { deliveredSeq, readSeq };
}

/** What markReceipt did: the marks as they now are, and whether they moved (then `receipt` is published). */
export interface ReceiptOutcome {
  marks: ReceiptMarksRecord;
  changed: boolean;
}

/**
 * Applies a receipt.mark of `member` (the caller, already checked to be a
 * member): when a mark moves, persists the new marks with `epoch()` (fenced
 * by the store like every write) and updates `member` in place, so the
 * actor's head stays the source of the next no-op check. A no-op mark
 * writes nothing and reports changed: false, so the frequent repeats
 * (every client marks delivery of what it receives) cost no store write.
 *
 * Must run in the conversation's mailbox: the read-modify-write of `member`
 * relies on it, and lastSeq must be the head's.
 */
export async function markReceipt(
  deps: { store: ChatStore; epoch: () => number },
  conversationId: string,
  lastSeq: number,
  member: MemberRecord,
  mark: MarkReceipt,
): Promise<ReceiptOutcome> {
  const current = { deliveredSeq: member.deliveredSeq, readSeq: member.readSeq };
  const next = nextMarks(current, mark, lastSeq);
  if (sameMarks(next, current)) return { marks: current, changed: false };
  const stored = await deps.store.markReceipt({ conversationId, userId: member.userId, epoch: deps.epoch(), ...next });
  member.deliveredSeq = stored.deliveredSeq;
  member.readSeq = stored.readSeq;
  return { marks: stored, changed: !sameMarks(stored, current) };
}

function sameMarks(a: ReceiptMarksRecord, b: ReceiptMarksRecord): boolean {
  return a.deliveredSeq === b.deliveredSeq && a.readSeq === b.readSeq;
}
