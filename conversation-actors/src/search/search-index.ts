import type { SearchTerm } from '../store/search/search-terms.js';

/**
 * A message search index outside the chat store (PostgreSQL: ./postgres/).
 * The store stays the truth: the index only says which (conversation, seq)
 * may match, and IndexedSearchStore reads those messages back from the store
 * (so a deleted message is never served and an edit shows its current text)
 * and checks membership there at query time. The `chat indexer` role keeps
 * it current (../indexer/): catchUp reads each changed conversation from the
 * store past the position recorded here and applies what it read.
 *
 * Guarantees every implementation keeps:
 * - apply() is atomic: the rows and the position move together or not at all,
 *   so an indexer killed at any point resumes from a position whose rows are
 *   all in, and applying the same update again changes nothing.
 * - A position is never lowered (an older update applied late is ignored).
 * - Matching is the shared query language (../store/search/search-terms.ts):
 *   the index words a body with wordsOf, as the SQLite FTS5 backend does.
 * - Failures surface as StoreUnavailableError (retryable); a malformed cursor
 *   as BadRequestError.
 */
export interface SearchIndex {
  /** Where a conversation is indexed to: {0, 0} for one never indexed. */
  position(conversationId: string): Promise<IndexPosition>;
  /** Puts and removes messages of one conversation and records its new position, in one transaction. */
  apply(update: IndexUpdate): Promise<void>;
  /**
   * Messages of `conversationIds` whose indexed words match every term,
   * newest first (createdAt, then conversation and seq, descending), at most
   * `limit`, after the cursor `before` (a previous page's `next`).
   */
  candidates(query: CandidateQuery): Promise<CandidatePage>;
  /** Releases the connections; later calls fail. */
  close(): Promise<void>;
}

/** How far a conversation's messages and changes are in the index. */
export interface IndexPosition {
  /** Every message with seq <= this was read from the store and applied. */
  indexedSeq: number;
  /** Every change (ConversationRecord.changeSeq) up to this was read from the store and applied. */
  indexedChangeSeq: number;
}

/** A message as the index keeps it: what it matches and how it sorts. */
export interface IndexedMessage {
  seq: number;
  createdAt: number;
  /** The current body; the index words it (wordsOf) and need not keep it. */
  body: string;
}

/** One transaction of SearchIndex.apply. */
export interface IndexUpdate {
  conversationId: string;
  /** Inserted, or replacing what the index had for the same seq. */
  put: IndexedMessage[];
  /** Seqs no longer searchable (deleted, or an edit left nothing to match). */
  remove: number[];
  position: IndexPosition;
}

export interface CandidateQuery {
  /** Only these conversations (the caller's, read from the store at query time). Empty: no candidates. */
  conversationIds: readonly string[];
  terms: readonly SearchTerm[];
  /** A previous page's `next`. */
  before?: string | undefined;
  limit: number;
}

export interface SearchCandidate {
  conversationId: string;
  seq: number;
}

export interface CandidatePage {
  candidates: SearchCandidate[];
  /** The cursor after the last candidate when more may follow; null on the last page. */
  next: string | null;
}
