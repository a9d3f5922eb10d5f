import type { ChatMessage } from '@chat/proto';
import type { ChatStore } from './store.js';

/**
 * Message `seq` of a conversation as stored now (deleted ones included, as
 * readMessages gives them), or undefined when there is none: one indexed
 * point read through readMessages, the one way the actors read a single message.
 */
export async function readMessageAt(store: ChatStore, conversationId: string, seq: number): Promise<ChatMessage | undefined> {
  const [message] = await store.readMessages(conversationId, { after: seq - 1, before: seq + 1, limit: 1, direction: 'forward' });
  return message?.seq === seq ? message : undefined;
}
