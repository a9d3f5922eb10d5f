import type { Conversation, Message, User } from '@chat/client';
import type { PendingSend } from '../state/chat-state.js';

/**
 * What an offline start shows before the server answers: the conversation
 * list, the newest messages of the conversations that held any, and the
 * names and bot flags of the users in them.
 */
export interface Snapshot {
  me: User;
  conversations: Conversation[];
  /** Per conversation, its newest held messages in ascending seq (one unbroken run). */
  messages: Record<string, Message[]>;
  users: User[];
  savedAt: number;
}

/**
 * Where one signed-in user's offline data lives: the outbox (sends not yet
 * acknowledged, keyed by clientMsgId) and the last snapshot. Implemented over
 * IndexedDB in the browser (indexed-db-store.ts) and in memory where that is
 * missing (memory-store.ts). Every method settles: a failed write rejects,
 * and callers treat it as "not kept" (the send still goes out).
 */
export interface OfflineStore {
  /** Every kept send, in no particular order. */
  outbox(): Promise<PendingSend[]>;
  /** Keeps a send (replacing the entry with its clientMsgId); resolves once it is written. */
  putSend(send: PendingSend): Promise<void>;
  deleteSend(clientMsgId: string): Promise<void>;
  snapshot(): Promise<Snapshot | undefined>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
}
