import type { Conversation, Message } from '@chat/client';
import { RequestError } from '@chat/client';

/**
 * The rules and wording behind a message's actions (react, edit, delete),
 * free of any framework so they can be unit tested. The server checks every
 * rule again (docs/protocol.md): these only decide what the page offers.
 */

/** The emoji offered in a message's action bar, in order. */
export const QUICK_REACTIONS: readonly string[] = ['👍', '❤️', '😂', '😮', '😢', '🎉'];

/** Reactors named in a chip's title before the rest are counted ("and 3 others"). */
const MAX_NAMED = 10;

/** One reaction under a message, as its chip shows it. */
export interface ReactionChip {
  emoji: string;
  count: number;
  /** Whether the signed-in user is among the reactors (the chip shows pressed). */
  mine: boolean;
  /** Who reacted, for the chip's tooltip: "You and Ben reacted with 👍". */
  title: string;
}

/** Whether `me` may edit `m`: only the sender, and not once it is deleted. */
export function canEdit(m: Message, me: string | undefined): boolean {
  return !m.deleted && me !== undefined && m.senderId === me;
}

/** Whether `me` may delete `m`: the sender, or an owner or admin of a group. */
export function canDelete(m: Message, me: string | undefined, conversation: Conversation | undefined): boolean {
  if (m.deleted || me === undefined) return false;
  if (m.senderId === me) return true;
  if (conversation?.kind !== 'group') return false;
  const role = conversation.members.find((x) => x.userId === me)?.role;
  return role === 'owner' || role === 'admin';
}

/** "You", "You and Ben", "You, Ben and Cy", "Ann, Ben and 3 others": the signed-in user first, as "You". */
export function reactorNames(userIds: readonly string[], me: string | undefined, nameOf: (id: string) => string): string {
  const names = [...(me !== undefined && userIds.includes(me) ? ['You'] : []), ...userIds.filter((id) => id !== me).map(nameOf)];
  if (names.length > MAX_NAMED) {
    const others = names.length - (MAX_NAMED - 1);
    return `${names.slice(0, MAX_NAMED - 1).join(', ')} and ${others} others`;
  }
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The chips under a message, in the server's order; emoji nobody holds any more are left out. */
export function reactionChips(m: Message, me: string | undefined, nameOf: (id: string) => string): ReactionChip[] {
  if (m.deleted) return [];
  return Object.entries(m.reactions)
    .filter(([, users]) => users.length > 0)
    .map(([emoji, users]) => ({
      emoji,
      count: users.length,
      mine: me !== undefined && users.includes(me),
      title: `${reactorNames(users, me, nameOf)} reacted with ${emoji}`,
    }));
}

/** What a key does in the edit box: Enter saves, Escape cancels, Shift+Enter (and Enter while composing) types. */
export function editKeyAction(e: { key: string; shiftKey: boolean; isComposing: boolean }): 'save' | 'cancel' | undefined {
  if (e.isComposing) return undefined;
  if (e.key === 'Enter' && !e.shiftKey) return 'save';
  if (e.key === 'Escape') return 'cancel';
  return undefined;
}

export type MessageAction = 'react' | 'edit' | 'delete';

const FAILED: Record<MessageAction, string> = {
  react: "Couldn't update the reaction",
  edit: "Couldn't save the edit",
  delete: "Couldn't delete the message",
};

/** The line shown under a message when an action on it failed. */
export function actionErrorText(action: MessageAction, err: unknown): string {
  const prefix = FAILED[action];
  if (!(err instanceof RequestError)) return `${prefix}: ${err instanceof Error ? err.message : String(err)}`;
  switch (err.code) {
    case 'offline':
    case 'disconnected':
      return `${prefix}: you are offline. Try again once reconnected.`;
    case 'timeout':
    case 'unavailable':
      return `${prefix}: the server did not answer. Try again.`;
    case 'rate_limited':
      return `${prefix}: too many requests. Try again in a moment.`;
    default:
      // forbidden, conflict, not_found, bad_request…: the server's words say why.
      return `${prefix}: ${err.message}`;
  }
}
