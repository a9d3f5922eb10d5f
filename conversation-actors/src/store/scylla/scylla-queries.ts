import type { ChatMessage } from '@chat/proto';
import type { ChangedMessagesQuery } from '../store.js';
import { changeBucketOf } from './scylla-buckets.js';
import { FAN_OUT, readHead, readMessage } from './scylla-reads.js';
import { type ScyllaSession, mapLimit, num } from './scylla-session.js';

// The read that spans several partitions by nature (DESIGN.md, "Reads
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

