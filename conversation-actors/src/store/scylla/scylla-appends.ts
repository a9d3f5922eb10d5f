import type { ChatMessage } from '@chat/proto';
import { BadRequestError, NotFoundError, SeqConflictError, StaleEpochError, StoreUnavailableError } from '../../errors.js';
import type { AppendBatch, AppendResult, ClientMsgKey, ThreadSummary } from '../store.js';
import { bucketOf, changeBucketOf } from './scylla-buckets.js';
import { toStoreError, isRetryable } from './scylla-errors.js';
import { messageInsertParams } from './scylla-rows.js';
import { FAN_OUT, readMessage } from './scylla-reads.js';
import { type ScyllaSession, type Statement, fenceTimestamp, mapLimit, num, stmt } from './scylla-session.js';
import { SEAL_WINDOW, type TailRepair } from './scylla-tail.js';

/**
 * A logged batch holds at most this many bytes of message data: a large
 * group commit is written as several batches. The budget is set by the
 * stricter of the two servers the store runs on: Apache Cassandra refuses a
 * batch over its batch_size_fail_threshold (50 KiB by default) and warns from
 * batch_size_warn_threshold (5 KiB by default: a few dozen short messages;
 * the README recommends 64 KiB for this store); ScyllaDB warns from 128 KiB.
 * One message alone (4,000 characters, at most 16 KB of UTF-8) always fits.
 * Each message row travels with its idempotency row, so neither is ever
 * stored without the other.
 */
export const MAX_BATCH_BYTES = 40 * 1024;

/**
 * A logged batch holds at most this many messages (twice as many statements,
 * as many partitions plus one): Scylla measures a batch by its mutations'
 * memory, per-cell and per-partition overhead included, so short messages
 * must be capped by count as well as by bytes.
 */
export const MAX_BATCH_MESSAGES = 32;

/** How many times the message rows of a claimed batch are sent again after a retryable failure. */
export const ROW_WRITE_ATTEMPTS = 3;

/**
 * The stored messages of `keys` (message_keys point reads, then the message
 * each points at). A key whose message row is missing or belongs to another
 * send does not count: only a complete, matching pair proves a stored send.
 */
export async function findByKeys(s: ScyllaSession, conversationId: string, keys: readonly ClientMsgKey[]): Promise<ChatMessage[]> {
  const found = await mapLimit(keys, FAN_OUT, async (key) => {
    const row = await s.row('getKey', [conversationId, key.senderId, key.clientMsgId]);
    if (!row) return undefined;
    const message = await readMessage(s, conversationId, num(row['seq']));
    return message && message.senderId === key.senderId && message.clientMsgId === key.clientMsgId ? message : undefined;
  });
  const bySeq = new Map<number, ChatMessage>();
  for (const m of found) if (m) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * appendMessages (see DESIGN.md, "Fencing"):
 * 0. rows this store still owes the conversation from a failed batch of the
 *    same epoch are written first (scylla-tail.ts): nothing is claimed above
 *    a hole this store left;
 * 1. the batch's keys are looked up (point reads, mostly answered by bloom
 *    filters): a stored one returns the originals, nothing written;
 * 2. one lightweight transaction on the head claims the seqs for this epoch:
 *    `SET last_seq = last IF last_seq = expected AND epoch <= mine`. Refused:
 *    StaleEpochError / SeqConflictError / NotFoundError, nothing written;
 * 3. the first append of this epoch seals the seqs below (placeholders where
 *    a previous owner left holes);
 * 4. the message rows and their keys, in logged batches, retried while the
 *    failure is retryable (the claim is ours: no one else writes these seqs).
 * Resolves only after 4 succeeded. If 3 or 4 keeps failing, the rows are
 * owed (step 0 of the next append) and StoreUnavailableError is thrown:
 * nothing was acknowledged, so the senders retry and get their originals.
 */
export async function appendBatch(s: ScyllaSession, tail: TailRepair, batch: AppendBatch): Promise<AppendResult> {
  const id = batch.conversationId;
  if (batch.messages.length > SEAL_WINDOW) {
    throw new BadRequestError(`appendMessages: ${batch.messages.length} messages in one batch; the Scylla store takes at most ${SEAL_WINDOW} (ACTOR_MAX_BATCH)`);
  }
  await settleOwedRows(s, tail, id, batch.epoch);
  const existing = await findByKeys(s, id, batch.messages);
  if (existing.length > 0) return { kind: 'duplicates', existing };

  const last = batch.messages[batch.messages.length - 1] as ChatMessage;
  // The rows are stamped with the time before the claim, not the time they are
  // sent: a host paused between its claim and its rows, and woken after the
  // next owner sealed these seqs, must lose to the placeholders (scylla-tail.ts).
  const rowsTimestamp = fenceTimestamp();
  // Thread replies raise change_seq in the same LWT (no extra round trip): sync must see their roots changed.
  const changeSeq = (batch.threads ?? []).length > 0 ? batch.changeSeq : undefined;
  const claim =
    changeSeq === undefined
      ? [last.seq, last.createdAt, batch.epoch, id, batch.expectedLastSeq, batch.epoch]
      : [last.seq, last.createdAt, batch.epoch, changeSeq, id, batch.expectedLastSeq, batch.epoch, changeSeq];
  try {
    const { applied, current } = await s.lwt(changeSeq === undefined ? 'claimSeqs' : 'claimSeqsChange', claim);
    if (!applied) throw refusal(batch, current);
  } catch (err) {
    if (!isRetryable(err)) throw err;
    // A timed-out LWT may have applied. A SERIAL read settles it: the head at
    // our last seq and epoch can only be our own claim (the actor is the
    // only writer of its epoch, and seqs are claimed once).
    const claimed = await claimLanded(s, id, last.seq, batch.epoch).catch(() => false);
    if (!claimed) throw toStoreError(err, 'appendMessages');
  }
  let sealed = false;
  try {
    await tail.sealOnce(s, id, batch.epoch, batch.expectedLastSeq);
    sealed = true;
    await writeRows(s, batch.messages, batch.threads ?? [], changeSeq, rowsTimestamp);
  } catch (err) {
    tail.owe(id, batch.epoch, sealed, { messages: batch.messages, threads: batch.threads, changeSeq, timestamp: rowsTimestamp });
    throw unconfirmed(err, `appendMessages: seqs ${batch.expectedLastSeq + 1}-${last.seq} claimed, rows not confirmed (owed to the next append)`);
  }
  return { kind: 'appended' };
}

/**
 * Step 0 of an append, also run alone (ScyllaStore.settleWrites): writes the
 * rows this store owes `conversationId` under `epoch`, if any, after proving
 * the epoch is still the conversation's. A no-op when nothing is owed.
 */
export async function settleOwedRows(s: ScyllaSession, tail: TailRepair, conversationId: string, epoch: number): Promise<void> {
  try {
    await tail.settle(
      s,
      conversationId,
      epoch,
      () => confirmEpoch(s, conversationId, epoch),
      (owed) => writeRows(s, owed.messages, owed.threads ?? [], owed.changeSeq, owed.timestamp),
    );
  } catch (err) {
    if (!isRetryable(err)) throw err;
    throw unconfirmed(err, `rows owed to conversation ${conversationId} from an earlier batch are still not written`);
  }
}

/** A failure after a claim: always retryable for the caller (it must reload the head), whatever the driver said. */
function unconfirmed(err: unknown, what: string): StoreUnavailableError {
  const typed = toStoreError(err, what);
  return typed instanceof StoreUnavailableError ? typed : new StoreUnavailableError(typed.message, { cause: err });
}

/**
 * Proves, with one LWT that changes nothing (`SET epoch = mine IF epoch <=
 * mine`), that no newer owner has written the conversation: only then may
 * owed rows go over seqs a newer owner could have sealed. Throws
 * StaleEpochError / NotFoundError when refused. Runs only when rows are owed.
 */
async function confirmEpoch(s: ScyllaSession, conversationId: string, epoch: number): Promise<void> {
  const { applied, current } = await s.lwt('raiseEpoch', [epoch, conversationId, epoch]);
  if (applied) return;
  if (!current || current['epoch'] === undefined || current['epoch'] === null) throw new NotFoundError(`conversation ${conversationId} does not exist`);
  throw new StaleEpochError(conversationId, epoch, num(current['epoch']));
}

/** Whether the head now holds exactly this claim. */
async function claimLanded(s: ScyllaSession, conversationId: string, lastSeq: number, epoch: number): Promise<boolean> {
  const row = await s.serialRow('getHeadSerial', [conversationId]);
  return row !== undefined && num(row['last_seq']) === lastSeq && num(row['epoch']) === epoch;
}

/** The error of a refused claim, from the head's current values (none: no such conversation). */
function refusal(batch: AppendBatch, current: { [key: string]: unknown } | undefined): Error {
  if (!current || current['epoch'] === undefined || current['epoch'] === null) return new NotFoundError(`conversation ${batch.conversationId} does not exist`);
  const epoch = num(current['epoch']);
  if (batch.epoch < epoch) return new StaleEpochError(batch.conversationId, batch.epoch, epoch);
  // Also a claimSeqsChange refused for its change_seq alone: the writer's head is stale all the same.
  return new SeqConflictError(batch.conversationId, batch.expectedLastSeq, num(current['last_seq']));
}

/**
 * The claimed rows, in size-bounded logged batches sent concurrently (the
 * seqs are all claimed: their order of landing does not matter), each
 * retried while its failure is retryable; a failure left after that is thrown.
 * Every attempt carries the same write timestamp, taken before the claim.
 */
async function writeRows(
  s: ScyllaSession,
  messages: ChatMessage[],
  threads: readonly ThreadSummary[],
  changeSeq: number | undefined,
  timestampMicros: number,
): Promise<void> {
  await mapLimit(chunks(messages, threads, changeSeq), FAN_OUT, async (chunk) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await s.loggedBatch(chunk, timestampMicros);
        return;
      } catch (err) {
        if (attempt >= ROW_WRITE_ATTEMPTS || !isRetryable(err)) throw err;
      }
    }
  });
}

/**
 * Message rows with their key rows (and a thread reply's thread_messages
 * entry), grouped so each group stays under MAX_BATCH_BYTES and
 * MAX_BATCH_MESSAGES; the roots' counters ride in the last group, with
 * their change position and message_changes rows when `changeSeq` is given
 * (sync's `updated`). Counters are absolute values, so writing them again
 * (owed rows) is harmless.
 */
function chunks(messages: ChatMessage[], threads: readonly ThreadSummary[], changeSeq: number | undefined): Statement[][] {
  const out: Statement[][] = [];
  let current: Statement[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.body) + JSON.stringify(m.attachments).length + 256;
    if (current.length > 0 && (bytes + size > MAX_BATCH_BYTES || current.length >= 2 * MAX_BATCH_MESSAGES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(stmt('putMessage', messageInsertParams(m)), stmt('putKey', [m.conversationId, m.senderId, m.clientMsgId, m.seq]));
    if (m.threadRoot !== undefined) current.push(stmt('putThreadMessage', [m.conversationId, m.threadRoot, m.seq]));
    bytes += size;
  }
  const conversationId = messages[0]?.conversationId;
  for (const t of threads) {
    if (changeSeq === undefined) current.push(stmt('setThread', [t.replies, t.lastAt, conversationId, bucketOf(t.root), t.root]));
    else {
      current.push(
        stmt('setThreadChanged', [t.replies, t.lastAt, changeSeq, conversationId, bucketOf(t.root), t.root]),
        stmt('putChange', [conversationId, changeBucketOf(changeSeq), changeSeq, t.root]),
      );
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}
