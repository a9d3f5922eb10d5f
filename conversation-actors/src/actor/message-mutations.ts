import { type ChatMessage, type DeleteMessage, type EditMessage, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON, type ProtocolLimits, type ReactToMessage, isValidEmoji } from '@chat/proto';
import type { ChatStore, ConversationRecord, Role } from '../store/store.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../errors.js';
import { readMessageAt } from '../store/read-message.js';

/** A change to one stored message, as the actor request carries it. */
export type MessageMutation =
  | { $case: 'edit'; value: EditMessage }
  | { $case: 'delete'; value: DeleteMessage }
  | { $case: 'react'; value: ReactToMessage };

/** Who asks for a mutation, and in which conversation. */
export interface Mutator {
  userId: string;
  role: Role;
  kind: ConversationRecord['kind'];
}

/**
 * The message after `mutation`, or null when the mutation changes nothing
 * (an identical edit, a second delete, adding a reaction twice or removing
 * a missing one), so retries are harmless and publish nothing.
 *
 * Pure: permission and state checks only. Throws ForbiddenError when the
 * mutator may not do it, ConflictError for an edit of or reaction to a
 * deleted message (`conflict` rather than `not_found`: the seq exists, and
 * history serves it as deleted), BadRequestError for invalid input.
 */
export function applyMutation(
  message: ChatMessage,
  mutation: MessageMutation,
  by: Mutator,
  now: number,
  limits: ProtocolLimits,
): ChatMessage | null {
  switch (mutation.$case) {
    case 'edit': {
      if (message.senderId !== by.userId) throw new ForbiddenError('only the sender may edit a message');
      if (message.deleted) throw new ConflictError('a deleted message cannot be edited');
      const body = mutation.value.body;
      // The gateway checks these too; the actor is the last line for any bus client.
      if (body.length > limits.maxBodyChars) throw new BadRequestError(`body longer than ${limits.maxBodyChars} characters`);
      if (body.trim().length === 0 && message.attachments.length === 0) {
        throw new BadRequestError('a message needs a body or an attachment');
      }
      if (body === message.body) return null;
      return { ...message, body, editedAt: now };
    }
    case 'delete': {
      const moderator = by.kind === 'group' && (by.role === 'owner' || by.role === 'admin');
      if (message.senderId !== by.userId && !moderator) {
        throw new ForbiddenError('only the sender or a group owner or admin may delete a message');
      }
      if (message.deleted) return null;
      // Deleting a message that is still streaming ends its stream: nothing may grow it again.
      return { ...message, body: '', attachments: [], reactions: {}, deleted: true, ...(message.streaming === true ? { streaming: false } : {}) };
    }
    case 'react': {
      const { emoji, add } = mutation.value;
      if (!isValidEmoji(emoji, limits.maxEmojiChars)) throw new BadRequestError('invalid emoji');
      if (message.deleted) throw new ConflictError('cannot react to a deleted message');
      const users = message.reactions[emoji]?.ids ?? [];
      if (users.includes(by.userId) === add) return null;
      // Bounded, so that no one can grow a message (and every event and page that carries it) without end.
      if (add && users.length === 0 && Object.keys(message.reactions).length >= MAX_REACTIONS_PER_MESSAGE) {
        throw new BadRequestError(`a message holds at most ${MAX_REACTIONS_PER_MESSAGE} different reactions`);
      }
      if (add && Object.values(message.reactions).filter((r) => r.ids.includes(by.userId)).length >= MAX_REACTIONS_PER_PERSON) {
        throw new BadRequestError(`one person may add at most ${MAX_REACTIONS_PER_PERSON} reactions to a message`);
      }
      const reactions = { ...message.reactions };
      const next = add ? [...users, by.userId] : users.filter((id) => id !== by.userId);
      // An emoji nobody uses any more disappears from the map.
      if (next.length === 0) delete reactions[emoji];
      else reactions[emoji] = { ids: next };
      return { ...message, reactions };
    }
  }
}

/**
 * Loads message `seq`, applies the mutation and, if it changed anything,
 * persists it with `epoch` (fenced by the store like an append) and
 * `changeSeq` (the conversation's next change counter: the stored message
 * and the conversation both get it, in one write). Resolves
 * with the message as it now is and whether it changed (then the caller
 * publishes message.updated). The caller must have checked membership, and
 * must run this in the conversation's mailbox so mutations and sends of one
 * conversation never interleave (the read-modify-write relies on it).
 */
export async function mutateMessage(
  deps: { store: ChatStore; limits: ProtocolLimits; now: number; epoch: () => number; changeSeq: number },
  conversationId: string,
  mutation: MessageMutation,
  by: Mutator,
): Promise<{ message: ChatMessage; changed: boolean }> {
  const seq = mutation.value.seq;
  const current = await readMessageAt(deps.store, conversationId, seq);
  if (!current) throw new NotFoundError(`no message ${seq} in this conversation`);
  const changed = applyMutation(current, mutation, by, deps.now, deps.limits);
  if (!changed) return { message: current, changed: false };
  const next = { ...changed, changeSeq: deps.changeSeq };
  await deps.store.updateMessage({ epoch: deps.epoch(), message: next, endsStream: current.streaming === true && next.streaming === false });
  return { message: next, changed: true };
}
