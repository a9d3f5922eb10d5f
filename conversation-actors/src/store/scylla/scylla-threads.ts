import type { ChatMessage } from '@chat/proto';
import type { MessageQuery } from '../store.js';
import { FAN_OUT, readMessage } from './scylla-reads.js';
import { type ScyllaSession, mapLimit, num } from './scylla-session.js';

/**
 * One page of a thread (ChatStore.readThread): the seqs from the thread's own
 * partition of thread_messages (one read, however long the thread or the
 * conversation), then the messages by point read, FAN_OUT at a time. A seq
 * whose message row is missing (a placeholder sealed over a lost write never
 * has a thread entry, so only a race with a repair) is left out.
 */
export async function readThread(s: ScyllaSession, conversationId: string, root: number, query: MessageQuery): Promise<ChatMessage[]> {
  const after = query.after ?? 0;
  const before = query.before ?? Number.MAX_SAFE_INTEGER;
  const rows = await s.rows(query.direction === 'forward' ? 'threadAscending' : 'threadDescending', [conversationId, root, after, before, query.limit]);
  const seqs = rows.map((r) => num(r['seq'])).sort((a, b) => a - b);
  const messages = await mapLimit(seqs, FAN_OUT, (seq) => readMessage(s, conversationId, seq));
  return messages.filter((m): m is ChatMessage => m !== undefined);
}
