import type { Message, User } from '@chat/client';
import type { ChatState } from '../state/chat-state.js';
import type { OfflineStore, Snapshot } from './offline-store.js';

/** Newest messages kept per conversation: a screenful and some, not the history. */
export const KEEP_MESSAGES = 50;

/**
 * What an offline start needs of `state`: the conversations, for each the
 * newest KEEP_MESSAGES of the unbroken run of messages it holds (a run, so
 * the restored log's top is a correct `sync` mark; messages above a hole are
 * left out and come again with the sync) and the members' names. Undefined
 * before the user is known.
 */
export function takeSnapshot(state: ChatState, savedAt: number): Snapshot | undefined {
  const me = state.me;
  if (!me) return undefined;
  const conversations = state.conversations();
  const messages: Record<string, Message[]> = {};
  const users = new Map<string, User>();
  for (const c of conversations) {
    const log = state.log(c.id);
    if (log.size > 0) {
      const run = log.messages().filter((m) => m.seq <= log.contiguousHigh);
      if (run.length > 0) messages[c.id] = run.slice(-KEEP_MESSAGES);
    }
    for (const m of c.members) {
      if (!state.hasName(m.userId) || users.has(m.userId)) continue;
      users.set(m.userId, state.isBot(m.userId) ? { id: m.userId, name: state.nameOf(m.userId), bot: true } : { id: m.userId, name: state.nameOf(m.userId) });
    }
  }
  return { me, conversations, messages, users: [...users.values()], savedAt };
}

/**
 * Puts a snapshot into an empty state, as if the conversations, messages and
 * users had just been received; the next `sync` continues from there.
 */
export function applySnapshot(state: ChatState, snapshot: Snapshot): void {
  if (!state.me) state.setMe(snapshot.me);
  state.rememberUsers(snapshot.users);
  for (const c of snapshot.conversations) state.upsertConversation(c);
  state.addMessages(Object.values(snapshot.messages).flat());
}

/**
 * Saves a snapshot of the state at most once per `intervalMs` while it
 * changes (a trailing save, so the last change is always kept), and once more
 * on `flush`. Failed saves are reported and otherwise ignored: the snapshot
 * is a convenience, the server has the truth.
 */
export class SnapshotKeeper {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** What the last save wrote (without its time): most state changes (typing, presence) leave the snapshot as it was. */
  #saved: string | undefined;

  constructor(
    readonly store: OfflineStore,
    readonly state: ChatState,
    readonly intervalMs = 1_000,
    readonly onError: (err: unknown) => void = () => {},
    readonly now: () => number = Date.now,
  ) {}

  /** Call on every state change. */
  changed(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.intervalMs);
  }

  /** Saves now (cancelling a scheduled save). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const snapshot = takeSnapshot(this.state, this.now());
    if (!snapshot) return;
    const content = JSON.stringify({ ...snapshot, savedAt: 0 });
    if (content === this.#saved) return;
    try {
      await this.store.saveSnapshot(snapshot);
      this.#saved = content;
    } catch (err) {
      this.onError(err);
    }
  }

  /** No more saves (sign-out: the state is about to be cleared). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
