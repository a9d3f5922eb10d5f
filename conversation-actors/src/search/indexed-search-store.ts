import type { ChatMessage } from '@chat/proto';
import { ProbeForwardingStore } from '../store/forwarding-store.js';
import { readMessageAt } from '../store/read-message.js';
import { matchesTerms } from '../store/search/matches-terms.js';
import { searchTerms } from '../store/search/search-terms.js';
import { buildSnippet } from '../store/search/snippet.js';
import type { ChatStore, MessageSearchHit, MessageSearchPage, MessageSearchQuery } from '../store/store.js';
import type { SearchIndex } from './search-index.js';

/** Candidate pages one search reads at most to fill its page when the store drops candidates (deleted or changed since indexed). */
const MAX_CANDIDATE_ROUNDS = 4;

/**
 * A ChatStore whose searchMessages is served by an external SearchIndex,
 * with the store kept as the truth: the caller's conversations are read from
 * the store at query time (a removed member finds nothing there), and every
 * candidate is read back from the store, so a deleted message, a stream not
 * finished, or an edit the index has not seen yet never shows up with text it
 * no longer has. Everything else goes to the store unchanged (probeWrite
 * too, where it has one). close() closes the index too.
 */
export class IndexedSearchStore extends ProbeForwardingStore {
  readonly #index: SearchIndex;

  constructor(inner: ChatStore, index: SearchIndex) {
    super(inner);
    this.#index = index;
  }

  override async searchMessages(userId: string, query: MessageSearchQuery): Promise<MessageSearchPage> {
    const terms = searchTerms(query.text);
    let conversationIds = await this.inner.userConversationIds(userId);
    if (query.conversationId !== undefined) conversationIds = conversationIds.filter((id) => id === query.conversationId);
    const hits: MessageSearchHit[] = [];
    let before = query.before;
    // A cursor is checked even when the caller has no conversation: a forged one is refused the same way.
    for (let round = 0; round < MAX_CANDIDATE_ROUNDS; round++) {
      const page = await this.#index.candidates({ conversationIds, terms, before, limit: query.limit - hits.length });
      const found = await Promise.all(page.candidates.map((c) => readMessageAt(this.inner, c.conversationId, c.seq)));
      for (const message of found) {
        if (!message || !servable(message) || !matchesTerms(message.body, terms)) continue;
        hits.push({ message, ...buildSnippet(message.body, terms) });
      }
      if (page.next === null) return { hits, next: null };
      before = page.next;
      if (hits.length >= query.limit) break;
    }
    // Short of hits after the last round: the caller pages on from where the index stopped.
    return { hits, next: before ?? null };
  }

  override async close(): Promise<void> {
    try {
      await this.#index.close();
    } finally {
      await this.inner.close();
    }
  }
}

function servable(message: ChatMessage): boolean {
  return !message.deleted && message.streaming !== true;
}
