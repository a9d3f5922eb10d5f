import type { ChatMessage } from '@chat/proto';
import type { ChangedMessagesQuery } from '../store.js';
import { changeBucketOf } from './scylla-buckets.js';
import { FAN_OUT, readHead, readMessage, userConversationIds } from './scylla-reads.js';
import { type ScyllaSession, mapLimit, num } from './scylla-session.js';

// The two reads that span several partitions by nature (DESIGN.md, "Reads
// across partitions"), each bounded as its comment says.

/**
 * readChangedMessages: the message_changes rows after the mark (one partition
 * per CHANGE_BUCKET_SIZE changes since the mark, usually one), then the
 * changed messages by point read, highest seqs first, until `limit` are
 * confirmed (a message's current change_seq must still be above the mark: an
 * index row whose update never landed is skipped). Cost: the changes since
 * the client's mark, plus `limit` message reads.
 */
export async function readChanged(s: ScyllaSession, conversationId: string, query: ChangedMessagesQuery): Promise<ChatMessage[]> {
  const head = await readHead(s, conversationId);
  if (!head || head.changeSeq <= query.afterChangeSeq || query.maxSeq < 1) return [];
  const seqs = new Set<number>();
  for (let bucket = changeBucketOf(Math.max(0, query.afterChangeSeq + 1)); bucket <= changeBucketOf(head.changeSeq); bucket++) {
    for (const row of await s.allRows('readChanges', [conversationId, bucket, query.afterChangeSeq])) {
      const seq = num(row['seq']);
      if (seq <= query.maxSeq && seq <= head.lastSeq) seqs.add(seq);
    }
  }
  const candidates = [...seqs].sort((a, b) => b - a);
  const found: ChatMessage[] = [];
  for (let i = 0; i < candidates.length && found.length < query.limit; i += FAN_OUT) {
    const messages = await mapLimit(candidates.slice(i, i + FAN_OUT), FAN_OUT, (seq) => readMessage(s, conversationId, seq));
    for (const m of messages) if (m && m.changeSeq > query.afterChangeSeq && found.length < query.limit) found.push(m);
  }
  return found.sort((a, b) => a.seq - b.seq);
}

/**
 * userContacts: the user's conversations (one partition), then their member
 * partitions FAN_OUT at a time, stopping as soon as `limit` distinct users
 * are found. At most one members partition (<= MAX_GROUP_MEMBERS rows) per
 * conversation of the user; usually far fewer, as the limit is reached early.
 */
export async function contactsOf(s: ScyllaSession, userId: string, limit: number): Promise<string[]> {
  const ids = await userConversationIds(s, userId);
  const contacts = new Set<string>();
  for (let i = 0; i < ids.length && contacts.size < limit; i += FAN_OUT) {
    const partitions = await mapLimit(ids.slice(i, i + FAN_OUT), FAN_OUT, (id) => s.allRows('getMembers', [id]));
    for (const rows of partitions) {
      for (const r of rows) {
        const other = r['user_id'] as string;
        if (other !== userId && contacts.size < limit) contacts.add(other);
      }
    }
  }
  return [...contacts];
}
