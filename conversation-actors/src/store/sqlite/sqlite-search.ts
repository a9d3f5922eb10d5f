import type Database from 'better-sqlite3';
import type { ChatMessage } from '@chat/proto';
import { BadRequestError } from '../../errors.js';
import type { MessageSearchPage, MessageSearchQuery } from '../store.js';
import { type SearchTerm, searchTerms } from '../search/search-terms.js';
import { buildSnippet } from '../search/snippet.js';
import { resolveQuotesSync } from '../quotes.js';
import { type MessageRow, toMessage } from './sqlite-rows.js';

/**
 * Above this many conversations the index is not told which ones (an FTS5
 * OR of that many tokens costs more than it saves); the members join alone
 * then keeps the results to the user's conversations.
 */
const MAX_CONVERSATION_FILTER = 500;

interface HitRow {
  rid: number;
  conversation_id: string;
  seq: number;
}

/**
 * ChatStore.searchMessages on the SQLite file: the FTS5 index of schema
 * version 5 (schema.ts), read on the store's reader connection. One read
 * transaction: the caller's memberships, the matches and the messages come
 * from one snapshot, so a member removed before it began finds nothing of
 * that conversation and a message deleted before it began is not served.
 */
export class SqliteSearch {
  readonly #db: Database.Database;
  readonly #conversations: Database.Statement<[string], string>;
  readonly #match: Database.Statement<[{ match: string; userId: string; before: number; limit: number }], HitRow>;
  readonly #message: Database.Statement<[string, number], MessageRow>;
  readonly #pending: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.#db = db;
    // Rowids above the watermark are committed but not yet indexed (schema V11).
    this.#pending = db
      .prepare<[], number>('SELECT coalesce((SELECT max(id) FROM message_search_rows), 0) > (SELECT indexed_through FROM search_progress WHERE key = 0)')
      .pluck();
    this.#conversations = db.prepare<[string], string>('SELECT conversation_id FROM members WHERE user_id = ?').pluck();
    // FTS5 walks its matches in descending rowid (newest first) and stops at
    // the limit; the members join re-checks membership for every hit.
    this.#match = db.prepare(
      `SELECT s.rowid AS rid, r.conversation_id, r.seq
       FROM message_search s
       JOIN message_search_rows r ON r.id = s.rowid
       JOIN members mb ON mb.conversation_id = r.conversation_id AND mb.user_id = @userId
       WHERE message_search MATCH @match AND s.rowid < @before
       ORDER BY s.rowid DESC LIMIT @limit`,
    );
    this.#message = db.prepare<[string, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? AND seq = ?');
  }

  /** Whether committed messages wait for the index (the store then has its writer index them before searching). */
  hasPending(): boolean {
    return this.#pending.get() === 1;
  }

  search(userId: string, query: MessageSearchQuery): MessageSearchPage {
    const terms = searchTerms(query.text);
    const before = query.before === undefined ? Number.MAX_SAFE_INTEGER : decodeSearchCursor(query.before);
    return this.#db.transaction((): MessageSearchPage => {
      let conversations = this.#conversations.all(userId);
      if (query.conversationId !== undefined) conversations = conversations.filter((id) => id === query.conversationId);
      if (conversations.length === 0) return { hits: [], next: null };
      const filter = conversations.length <= MAX_CONVERSATION_FILTER ? conversations : undefined;
      // One row more than asked tells whether another page exists.
      const rows = this.#match.all({ match: matchExpression(terms, filter), userId, before, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      const hits = page.flatMap((row) => {
        const read = (seq: number): ChatMessage | undefined => {
          const stored = this.#message.get(row.conversation_id, seq);
          return stored ? toMessage(stored) : undefined;
        };
        const found = read(row.seq);
        if (!found) return [];
        // A reply's quote as every read path gives it: the original as stored now.
        const [message] = resolveQuotesSync([found], read) as [ChatMessage];
        return [{ message, ...buildSnippet(message.body, terms) }];
      });
      const last = page[page.length - 1];
      return { hits, next: rows.length > query.limit && last ? encodeSearchCursor(last.rid) : null };
    })();
  }
}

/**
 * The FTS5 MATCH expression of the terms: each a quoted phrase (a `"` in a
 * word cannot occur: words are letters, digits and marks only, so nothing of
 * the user's text is read as FTS5 syntax), the last with `*` when it is a
 * prefix, all on the body column; with `conversations`, limited to them by
 * their `conv` token (the id in hex, as the triggers write it).
 */
export function matchExpression(terms: readonly SearchTerm[], conversations?: readonly string[]): string {
  const phrases = terms.map((t) => `"${t.words.join(' ')}"${t.prefix ? '*' : ''}`);
  const body = `body : (${phrases.join(' AND ')})`;
  if (!conversations) return body;
  const convs = conversations.map((id) => `"${Buffer.from(id, 'utf8').toString('hex')}"`);
  return `${body} AND conv : (${convs.join(' OR ')})`;
}

/** A page cursor: base64url of `s` and the last hit's index rowid. */
function encodeSearchCursor(rowid: number): string {
  return Buffer.from(`s${rowid}`).toString('base64url');
}

function decodeSearchCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const rowid = /^s[0-9]{1,16}$/.test(text) ? Number(text.slice(1)) : NaN;
  // Re-encoding must give the cursor back: a cursor we did not write is refused.
  if (!Number.isSafeInteger(rowid) || encodeSearchCursor(rowid) !== cursor) throw new BadRequestError('malformed search cursor');
  return rowid;
}
