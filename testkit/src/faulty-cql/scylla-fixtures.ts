import { errors, types } from 'cassandra-driver';
import type { ChatMessage } from '@chat/proto';
import type { AppendBatch, ChatStore } from '@chat/conversation-actors';
import { message } from '../store-contract/fixtures.js';

// Helpers shared by the Scylla store's failure tests (conversation-actors'
// scylla-store.faults and scylla-store.actors tests).

/** A write timeout as a node reports it (retryable: the write may or may not have landed). */
export const writeTimeout = (): Error => new errors.ResponseError(types.responseErrorCodes.writeTimeout, 'Operation timed out - received only 0 responses.');

/** A write failure as a node reports it when its replicas cannot write (a full or failing disk): StoreCannotWriteError. */
export const writeFailure = (): Error =>
  new errors.ResponseError(types.responseErrorCodes.writeFailure, 'Operation failed - received 0 responses and 1 failures: UNKNOWN from /127.0.0.1:9042');

/** Matches the logged batches that carry the message rows of `conversationId` (for FaultyCql.inject). */
export const isLoggedBatchOf =
  (conversationId: string) =>
  (query: string, params: unknown[]): boolean =>
    query.startsWith('INSERT INTO messages') && params[0] === conversationId;

let n = 0;

/** A new group owned by u1, created with `epoch`; ids start with `prefix` and never repeat. */
export async function newGroup(store: ChatStore, epoch = 1, prefix = 'g_scylla'): Promise<string> {
  const id = `${prefix}_${Date.now().toString(36)}_${n++}`;
  await store.createConversation({ id, kind: 'group', title: 't', createdAt: 1, members: [{ userId: 'u1', role: 'owner' }] }, epoch);
  return id;
}

/** `count` messages of u1 from seq `from`, keyed `${key}-${seq}`, as one append with `epoch`. */
export const batchOf = (id: string, from: number, count: number, epoch = 1, key = 'k'): AppendBatch & { messages: ChatMessage[] } => ({
  conversationId: id,
  epoch,
  expectedLastSeq: from - 1,
  messages: Array.from({ length: count }, (_, i) => message(id, from + i, 'u1', { clientMsgId: `${key}-${from + i}` })),
});

/** The conversation's seqs in order, `x` marking deleted ones (placeholders included). */
export const seqsOf = async (store: ChatStore, id: string): Promise<string[]> =>
  (await store.readMessages(id, { limit: 100, direction: 'forward' })).map((m) => `${m.seq}${m.deleted ? 'x' : ''}`);
