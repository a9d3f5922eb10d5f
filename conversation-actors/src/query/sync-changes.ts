import type { MessageList, Sync } from '@chat/proto';
import type { ChatStore, ConversationHead } from '../store/store.js';

// sync's changesSince (protocol extension, docs/protocol.md): what
// changed in what the client already has. New messages move a conversation's
// lastSeq and come in sync's `messages`; edits, deletes, reactions, membership
// and title changes move its changeSeq and come here.

/**
 * Whether sync lists `head` in `conversations`: the client does not know it,
 * it has new messages, or (only when the client sent a changesSince mark for
 * it) something in it changed after that mark.
 */
export function needsSync(head: ConversationHead, args: Sync): boolean {
  const since = args.since[head.conversationId];
  if (since === undefined || head.lastSeq > since) return true;
  const changesSince = args.changesSince[head.conversationId];
  return changesSince !== undefined && head.changeSeq > changesSince;
}

/** sync's `updated`, the conversations it cut short, and how many messages it holds. */
export interface UpdatedMessages {
  updated: Record<string, MessageList>;
  truncated: string[];
  count: number;
}

/**
 * For every conversation the client gave both a `since` and a `changesSince`
 * mark whose changeSeq moved past the latter: the messages with seq <= since
 * (newer ones already come in sync's `messages`) changed after changesSince,
 * in seq order. At most `args.limit` per conversation and `budget` in all;
 * a conversation with more is listed in `truncated` and holds the ones with
 * the highest seqs (the client re-reads the rest with message.history).
 * Deleted messages come as every read path serves them: no body,
 * attachments or reactions.
 */
export async function readUpdatedMessages(
  store: ChatStore,
  heads: readonly ConversationHead[],
  args: Sync,
  budget: number,
): Promise<UpdatedMessages> {
  const result: UpdatedMessages = { updated: {}, truncated: [], count: 0 };
  for (const head of heads) {
    const id = head.conversationId;
    const since = args.since[id];
    const changesSince = args.changesSince[id];
    if (since === undefined || changesSince === undefined || head.changeSeq <= changesSince) continue;
    const take = Math.min(args.limit, budget - result.count);
    if (take <= 0) {
      result.truncated.push(id);
      continue;
    }
    // One row more than taken tells whether there are more; ascending, so the extra one is the oldest.
    const rows = await store.readChangedMessages(id, { afterChangeSeq: changesSince, maxSeq: since, limit: take + 1 });
    if (rows.length > take) {
      result.truncated.push(id);
      rows.shift();
    }
    if (rows.length === 0) continue;
    result.count += rows.length;
    result.updated[id] = { messages: rows };
  }
  return result;
}
