import type { ChatMessage } from '@chat/proto';
import type { ChatStore } from '../store/store.js';
import type { IndexPosition, IndexUpdate, IndexedMessage, SearchIndex } from './search-index.js';

/** Messages read (and applied) per step: each step is one index transaction that moves the position. */
export const CATCH_UP_PAGE = 500;
/** Changed messages read at once; a conversation with more changes since its position is read again whole. */
export const CATCH_UP_CHANGES = 1000;

/** What one catchUp did. */
export interface CatchUpResult {
  /** Messages put in the index (new, edited, finished streams, changed in any way). */
  put: number;
  /** Messages taken out or kept out (deleted, still streaming, or with no word left). */
  removed: number;
  /** createdAt of the newest message put, or null when none was: for the indexer's lag metric. */
  newestCreatedAt: number | null;
  /** The conversation's index position afterwards. */
  position: IndexPosition;
}

/**
 * Brings one conversation's index entries up to the store: reads its head,
 * then what the index has not seen (the messages after its indexedSeq, and
 * the messages changed after its indexedChangeSeq), and applies them in
 * steps of CATCH_UP_PAGE messages, each moving the position, the last one
 * to the head's lastSeq and changeSeq. Everything read comes after the head
 * was read, so the position written is never ahead of what was applied.
 *
 * Deleted messages are removed; a streaming message stays out until it is
 * finished (finishing a stream is an update with a new changeSeq, so it comes
 * back through readChangedMessages). Idempotent: running it again applies
 * nothing new. Safe to run concurrently for different conversations; the
 * caller never runs two for the same one. A conversation the store does not
 * have: nothing is done.
 */
export async function catchUp(store: ChatStore, index: SearchIndex, conversationId: string): Promise<CatchUpResult> {
  const head = await store.loadConversation(conversationId);
  const start = await index.position(conversationId);
  const result: CatchUpResult = { put: 0, removed: 0, newestCreatedAt: null, position: start };
  if (!head) return result;
  const target: IndexPosition = {
    indexedSeq: Math.max(start.indexedSeq, head.lastSeq),
    indexedChangeSeq: Math.max(start.indexedChangeSeq, head.changeSeq),
  };
  if (target.indexedSeq === start.indexedSeq && target.indexedChangeSeq === start.indexedChangeSeq) return result;

  const apply = async (messages: readonly ChatMessage[], position: IndexPosition): Promise<void> => {
    const update: IndexUpdate = { conversationId, put: [], remove: [], position };
    for (const m of messages) {
      if (m.deleted || m.streaming === true) update.remove.push(m.seq);
      else update.put.push(indexed(m));
    }
    await index.apply(update);
    result.put += update.put.length;
    result.removed += update.remove.length;
    for (const m of update.put) result.newestCreatedAt = Math.max(result.newestCreatedAt ?? m.createdAt, m.createdAt);
    result.position = position;
  };

  // Which already indexed messages changed, read before the new ones; when more changed than one read holds, every message is read again instead.
  let changed: ChatMessage[] = [];
  let readFrom = start.indexedSeq;
  if (target.indexedChangeSeq > start.indexedChangeSeq && start.indexedSeq > 0) {
    changed = await store.readChangedMessages(conversationId, {
      afterChangeSeq: start.indexedChangeSeq,
      maxSeq: start.indexedSeq,
      limit: CATCH_UP_CHANGES,
    });
    if (changed.length >= CATCH_UP_CHANGES) {
      changed = [];
      readFrom = 0;
    }
  }

  // New messages (or all of them), a page per step; only the last step records the head's change position.
  const step = (seq: number): IndexPosition => ({ indexedSeq: Math.max(start.indexedSeq, seq), indexedChangeSeq: start.indexedChangeSeq });
  let after = readFrom;
  let finished = false;
  while (after < head.lastSeq) {
    const page = await store.readMessages(conversationId, { after, before: head.lastSeq + 1, limit: CATCH_UP_PAGE, direction: 'forward' });
    const last = page[page.length - 1];
    if (!last) break;
    after = last.seq;
    finished = after >= head.lastSeq && changed.length === 0;
    await apply(page, finished ? target : step(after));
  }
  for (let i = 0; i < changed.length; i += CATCH_UP_PAGE) {
    finished = i + CATCH_UP_PAGE >= changed.length;
    await apply(changed.slice(i, i + CATCH_UP_PAGE), finished ? target : step(after));
  }
  // Only the change position moved (a membership or title change): record it.
  if (!finished) await apply([], target);
  return result;
}

function indexed(m: ChatMessage): IndexedMessage {
  return { seq: m.seq, createdAt: m.createdAt, body: m.body };
}
