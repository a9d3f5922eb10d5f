import type { ChatMessage } from '@chat/proto';
import type { ThreadSummary } from '../store.js';
import type { Logger } from '@chat/platform';
import { bucketRanges } from './scylla-buckets.js';
import { messageInsertParams } from './scylla-rows.js';
import { isRetryable } from './scylla-errors.js';
import { type ScyllaSession, num } from './scylla-session.js';

// Keeping the seq sequence gapless when rows fail after their seqs were
// claimed (DESIGN.md, "Fencing", "Claim applied, rows failed"). The claim on
// the head and the message rows are two writes: between them the seqs are
// taken but may have no rows. Two rules close the gap:
//
// 1. Owed rows: a store whose row write failed keeps the batch and writes it
//    again before anything else it appends to that conversation, while it
//    still writes with the same epoch and an LWT confirms that epoch is still
//    the conversation's. The senders' retries then find their keys and get
//    their original seqs. Nothing later is ever written above a hole this
//    store left.
// 2. Sealing: the first append of each (conversation, epoch), right after its
//    claim succeeded, reads the seqs of the SEAL_WINDOW messages below it and
//    writes a deleted placeholder where a row is missing: a hole left by an
//    owner that died (or lost its lease) with owed rows. Only a writer whose
//    claim just succeeded seals, so the seqs it fills belong to owners that
//    can no longer acknowledge anything: an actor acknowledges only while its
//    lease is valid, and the lease moved before this claim could succeed.

/**
 * The largest batch appendMessages takes: one batch's seqs must fit in the
 * window a new owner checks for holes. ACTOR_MAX_BATCH (default 256) stays under it.
 */
export const SEAL_WINDOW = 1000;

/** Conversations whose seal or owed rows are remembered; the oldest beyond this are forgotten (and sealed again if written). */
export const TAIL_STATE_LIMIT = 100_000;

/** A batch whose seqs were claimed but whose rows were not confirmed, with the write timestamp they carry. */
export interface OwedRows {
  messages: ChatMessage[];
  /** The thread roots' counters written with them (AppendBatch.threads). */
  threads?: ThreadSummary[] | undefined;
  /** The roots' change position written with them (AppendBatch.changeSeq). */
  changeSeq?: number | undefined;
  /** Microseconds; taken before the claim, kept for every attempt. */
  timestamp: number;
}

interface TailState {
  /** The epoch this state belongs to: a new epoch means another owner may have been in between. */
  epoch: number;
  sealed: boolean;
  /** Rows whose seqs this store claimed but did not see written. */
  owed?: OwedRows | undefined;
}

/**
 * Per-store memory of which conversations are sealed and which rows are owed
 * (see above). Bounded: forgetting a conversation costs one more seal read.
 */
export class TailRepair {
  readonly #states = new Map<string, TailState>();

  /** `logger` gets a warning for every hole sealed and every batch owed: both mean a write failed after its claim. */
  constructor(private readonly logger: Logger) {}

  /**
   * Writes the rows this store still owes `conversationId` from an earlier
   * batch with the same epoch (rows owed under another epoch are dropped: a
   * later owner has sealed them). `confirm` runs first and must throw if the
   * epoch is no longer the conversation's: a newer owner may have sealed
   * these seqs, and the owed rows must not be written over its placeholders.
   * Throws the driver's error if the rows still fail (they stay owed).
   */
  async settle(
    s: ScyllaSession,
    conversationId: string,
    epoch: number,
    confirm: () => Promise<void>,
    write: (owed: OwedRows) => Promise<void>,
  ): Promise<void> {
    const state = this.#states.get(conversationId);
    if (!state) return;
    if (state.epoch !== epoch) {
      this.#states.delete(conversationId);
      return;
    }
    if (!state.owed) return;
    try {
      await confirm();
    } catch (err) {
      if (!isRetryable(err)) this.#states.delete(conversationId);
      throw err;
    }
    if (!state.sealed) {
      const below = state.owed.messages[0]?.seq;
      if (below !== undefined) this.#sealed(conversationId, await sealBelow(s, conversationId, below - 1));
      state.sealed = true;
    }
    await write(state.owed);
    this.logger.info({ conversationId, seqs: seqRange(state.owed.messages) }, 'owed message rows written');
    state.owed = undefined;
  }

  /**
   * Seals the seqs below `expectedLastSeq + 1` unless this (conversation,
   * epoch) is already sealed. Call only after a claim with `epoch` succeeded.
   */
  async sealOnce(s: ScyllaSession, conversationId: string, epoch: number, expectedLastSeq: number): Promise<void> {
    const state = this.#states.get(conversationId);
    if (state?.epoch === epoch && state.sealed) return;
    this.#sealed(conversationId, await sealBelow(s, conversationId, expectedLastSeq));
    this.#remember(conversationId, { epoch, sealed: true });
  }

  /** Records rows whose seqs were claimed with `epoch` but not confirmed written (`sealed`: whether the seqs below were). */
  owe(conversationId: string, epoch: number, sealed: boolean, owed: OwedRows): void {
    this.logger.warn({ conversationId, epoch, seqs: seqRange(owed.messages) }, 'message rows not confirmed after their seqs were claimed: owed to the next append');
    this.#remember(conversationId, { epoch, sealed, owed });
  }

  #sealed(conversationId: string, filled: number[]): void {
    if (filled.length > 0) this.logger.warn({ conversationId, seqs: filled }, 'sealed seqs a previous owner claimed but never wrote: deleted placeholders stand there');
  }

  /** Conversations with owed rows (for tests and metrics). */
  owedCount(): number {
    let n = 0;
    for (const state of this.#states.values()) if (state.owed) n++;
    return n;
  }

  #remember(conversationId: string, state: TailState): void {
    this.#states.delete(conversationId);
    this.#states.set(conversationId, state);
    if (this.#states.size > TAIL_STATE_LIMIT) {
      const oldest = this.#states.keys().next().value;
      if (oldest !== undefined) this.#states.delete(oldest);
    }
  }
}

/**
 * Writes a deleted placeholder at every seq in (lastSeq - SEAL_WINDOW, lastSeq]
 * that has no row. Reads only the seq column (one partition, two across a
 * bucket boundary); resolves with the seqs filled. Placeholders are plain
 * inserts stamped now, after this writer's claim; the previous owner's rows
 * carry the time before its own claim (scylla-appends.ts), so a late row of
 * it (a batch-log replay, or a paused host waking) loses to the placeholder
 * and cannot bring back a message that was never acknowledged; its key does
 * not match the placeholder, so the sender's retry stores the message afresh.
 */
export async function sealBelow(s: ScyllaSession, conversationId: string, lastSeq: number): Promise<number[]> {
  const from = Math.max(1, lastSeq - SEAL_WINDOW + 1);
  const present = new Set<number>();
  for (const part of bucketRanges(from, lastSeq)) {
    for (const row of await s.allRows('tailSeqs', [conversationId, part.bucket, part.from, part.to])) present.add(num(row['seq']));
  }
  const now = Date.now();
  const filled: number[] = [];
  for (let seq = from; seq <= lastSeq; seq++) {
    if (present.has(seq)) continue;
    await s.write('putMessage', messageInsertParams(placeholder(conversationId, seq, now)));
    filled.push(seq);
  }
  return filled;
}

/** `first-last` of a batch's seqs, for logs. */
function seqRange(messages: ChatMessage[]): string {
  return `${messages[0]?.seq}-${messages[messages.length - 1]?.seq}`;
}

/** The row that stands at a seq whose message was never stored: deleted, with no sender. */
export function placeholder(conversationId: string, seq: number, now: number): ChatMessage {
  return {
    conversationId,
    seq,
    id: `lost-${conversationId}-${seq}`,
    senderId: '',
    clientMsgId: '',
    body: '',
    attachments: [],
    createdAt: now,
    editedAt: undefined,
    deleted: true,
    reactions: {},
    changeSeq: 0,
  };
}
