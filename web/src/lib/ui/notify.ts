import type { Conversation } from '@chat/client';

const MUTED_KEY = 'chat.notify.muted';
const ENABLED_KEY = 'chat.notify';
/** A message older than this when it arrives (a sync after a long time away) gets no notification. */
export const NOTIFY_MAX_AGE_MS = 10 * 60_000;

/** Where the reader is: which conversation is on screen, and whether the tab is. */
export interface ViewerState {
  activeId: string | undefined;
  hidden: boolean;
}

/**
 * Whether a new message in `c` deserves a desktop notification: it is from
 * someone else, unread, recent, and its conversation is not in view (another
 * conversation is open, or the tab is hidden), and the user did not mute it.
 */
export function shouldNotify(c: Conversation, me: string | undefined, viewer: ViewerState, muted: ReadonlySet<string>, now = Date.now()): boolean {
  const m = c.lastMessage;
  if (!m || m.deleted || m.senderId === me || muted.has(c.id)) return false;
  // Read already (here or on another device): a sync after a reload brings it, nothing new to tell.
  if (c.readSeq >= m.seq) return false;
  if (now - m.createdAt > NOTIFY_MAX_AGE_MS) return false;
  return viewer.hidden || viewer.activeId !== c.id;
}

/**
 * Finds the conversations that got a new last message since the previous
 * call. A conversation seen for the first time counts only if its last
 * message was written after the watch started (someone new wrote to the
 * user); loading the list at start notifies for nothing.
 */
export class NewMessageWatch {
  readonly #seen = new Map<string, number>();

  constructor(private readonly startedAt = Date.now()) {}

  changed(conversations: readonly Conversation[]): Conversation[] {
    const out: Conversation[] = [];
    for (const c of conversations) {
      const before = this.#seen.get(c.id);
      if (before === undefined ? (c.lastMessage?.createdAt ?? 0) >= this.startedAt : c.lastSeq > before) out.push(c);
      if (before === undefined || c.lastSeq > before) this.#seen.set(c.id, c.lastSeq);
    }
    return out;
  }
}

type Store = Pick<Storage, 'getItem' | 'setItem'>;

/** The conversations muted for notifications on this device. */
export function loadMuted(storage: Store = localStorage): Set<string> {
  try {
    const v: unknown = JSON.parse(storage.getItem(MUTED_KEY) ?? '[]');
    return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

/** Mutes or unmutes one conversation; returns the new set. */
export function setMuted(conversationId: string, muted: boolean, storage: Store = localStorage): Set<string> {
  const all = loadMuted(storage);
  if (muted) all.add(conversationId);
  else all.delete(conversationId);
  try {
    storage.setItem(MUTED_KEY, JSON.stringify([...all]));
  } catch {
    // Not persisted; it holds for this page.
  }
  return all;
}

/** Whether the user turned notifications on with the bell (permission is the browser's, asked separately). */
export function notificationsWanted(storage: Store = localStorage): boolean {
  try {
    return storage.getItem(ENABLED_KEY) === 'on';
  } catch {
    return false;
  }
}

export function setNotificationsWanted(on: boolean, storage: Store = localStorage): void {
  try {
    storage.setItem(ENABLED_KEY, on ? 'on' : 'off');
  } catch {
    // Not persisted.
  }
}
