import pg from 'pg';
import { type Logger, silentLogger } from '@chat/platform';
import { BadRequestError, ChatError, StoreUnavailableError } from '../../errors.js';
import type { CandidatePage, CandidateQuery, IndexPosition, IndexUpdate, IndexedMessage, SearchIndex } from '../search-index.js';
import { type PgSearchOptions, pgUrlHost } from './pg-search-config.js';
import { applyPgSearchSchema } from './pg-search-schema.js';
import { GroupCommit } from './group-commit.js';
import { tsqueryLiteral, tsvectorLiteral } from './pg-text-search.js';

/** A query word PostgreSQL could not hold as a lexeme matches nothing (the index leaves such words out too). */
const MAX_QUERY_WORD_BYTES = 2046;
/** One statement's longest wait on the server; past it the call fails (unavailable) rather than hang a search or the indexer. */
const STATEMENT_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Up to this many conversations, a search walks each conversation newest
 * first and merges (PER_CONVERSATION): a common word stops after `limit`
 * rows per conversation whatever its size. Above it, one walk over all
 * (ACROSS_CONVERSATIONS), where the planner picks between the time index
 * (common words) and the words index (rare ones); walking hundreds of
 * conversations one by one would read `limit` rows from each.
 */
export const PER_CONVERSATION_MAX = 20;

// $1 conversations, $2 tsquery, $3 limit, then optionally $4..$6 the cursor's (created_at, conversation_id, seq).
const AFTER_CURSOR = 'AND (created_at, conversation_id, seq) < ($4, $5, $6)';
const PER_CONVERSATION = (cursor: boolean) => `SELECT m.conversation_id, m.seq, m.created_at
  FROM unnest($1::text[]) AS c(id)
  CROSS JOIN LATERAL (
    SELECT conversation_id, seq, created_at FROM chat_search_messages
    WHERE conversation_id = c.id AND tsv @@ $2::tsquery ${cursor ? `AND created_at <= $4 ${AFTER_CURSOR}` : ''}
    ORDER BY created_at DESC, seq DESC LIMIT $3
  ) AS m
  ORDER BY m.created_at DESC, m.conversation_id DESC, m.seq DESC LIMIT $3`;
const ACROSS_CONVERSATIONS = (cursor: boolean) => `SELECT conversation_id, seq, created_at FROM chat_search_messages
  WHERE conversation_id = ANY($1::text[]) AND tsv @@ $2::tsquery ${cursor ? AFTER_CURSOR : ''}
  ORDER BY created_at DESC, conversation_id DESC, seq DESC LIMIT $3`;

/**
 * Updates of several conversations (at most one each) in one statement, so
 * one round trip and one implicit transaction: each conversation's position
 * row is upserted only if its update is not older than it on either count
 * (ON CONFLICT locks the row, so concurrent updates of one conversation
 * queue up and each compares with the latest; rows go in conversation order,
 * so two indexers lock in the same order), and that conversation's rows are
 * deleted and upserted only if it was. $1..$3 conversations and their new
 * positions, $4..$5 (conversation, seq) to remove, $6..$9 (conversation,
 * seq, created_at, tsvector literal) to put, disjoint from the removes.
 */
const APPLY = `WITH pos AS (
    INSERT INTO chat_search_positions AS p (conversation_id, indexed_seq, indexed_change_seq)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
    ON CONFLICT (conversation_id) DO UPDATE SET indexed_seq = EXCLUDED.indexed_seq, indexed_change_seq = EXCLUDED.indexed_change_seq
      WHERE p.indexed_seq <= EXCLUDED.indexed_seq AND p.indexed_change_seq <= EXCLUDED.indexed_change_seq
    RETURNING p.conversation_id
  ), removed AS (
    DELETE FROM chat_search_messages m USING unnest($4::text[], $5::bigint[]) AS r(conversation_id, seq)
    WHERE m.conversation_id = r.conversation_id AND m.seq = r.seq AND r.conversation_id IN (SELECT conversation_id FROM pos)
  ), put AS (
    INSERT INTO chat_search_messages (conversation_id, seq, created_at, tsv)
    SELECT u.conversation_id, u.seq, u.created_at, u.tsv::tsvector FROM unnest($6::text[], $7::bigint[], $8::bigint[], $9::text[]) AS u(conversation_id, seq, created_at, tsv)
    WHERE u.conversation_id IN (SELECT conversation_id FROM pos)
    ON CONFLICT (conversation_id, seq) DO UPDATE SET created_at = EXCLUDED.created_at, tsv = EXCLUDED.tsv
  )
  SELECT count(*) AS applied FROM pos`;

const POSITIONS = 'SELECT conversation_id, indexed_seq, indexed_change_seq FROM chat_search_positions WHERE conversation_id = ANY($1::text[])';

interface CandidateRow {
  conversation_id: string;
  seq: string;
  created_at: string;
}

/**
 * Opens the PostgreSQL search index at `options.url`: connects, and brings
 * its tables to this build's schema (pg-search-schema.ts). Rejects with
 * StoreUnavailableError naming PG_URL's host when the server cannot be
 * reached or refuses, or when its schema is newer than this build's.
 */
export async function openPgSearchIndex(options: PgSearchOptions, logger: Logger = silentLogger()): Promise<PgSearchIndex> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 1000,
  });
  // An idle connection the server dropped: the pool discards it and the next call reconnects; without a listener it would crash the process.
  pool.on('error', (err) => logger.warn({ err }, 'search database connection lost'));
  const host = pgUrlHost(options.url);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new StoreUnavailableError(`cannot connect to the search database at ${host} (PG_URL): ${describe(err)}`, { cause: err });
  }
  try {
    await applyPgSearchSchema(client);
  } catch (err) {
    client.release();
    await pool.end().catch(() => undefined);
    if (err instanceof ChatError) throw err;
    throw new StoreUnavailableError(`cannot prepare the search tables at ${host} (PG_URL): ${describe(err)}`, { cause: err });
  }
  client.release();
  return new PgSearchIndex(pool);
}

/**
 * SearchIndex on PostgreSQL (see search-index.ts for what every index
 * guarantees). Keeps words and positions, never bodies. apply() is one
 * statement (APPLY) that moves the conversation's position row first, so an
 * update older than the recorded position is ignored whole (its rows could
 * undo newer ones), and positions only move up. Concurrent position() and
 * apply() calls are grouped into one statement each (GroupCommit).
 */
export class PgSearchIndex implements SearchIndex {
  readonly #pool: pg.Pool;
  #closed = false;
  /** Position reads and applies made while one of their kind runs go together in the next statement (group-commit.ts). */
  readonly #positions = new GroupCommit<string, IndexPosition>((ids) => this.#readPositions(ids));
  readonly #applies = new GroupCommit<IndexUpdate, void>(
    (updates) => this.#applyAll(updates),
    // One update per conversation per statement: ON CONFLICT may not touch a row twice.
    (batch, update) => !batch.some((u) => u.conversationId === update.conversationId),
    undefined,
    // Bad data in one update (SQLSTATE classes 22, 23) fails only that one; a database down fails the batch at once.
    (err) => /^2[23]/.test(String((err as { cause?: { code?: unknown } }).cause?.code ?? '')),
  );

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  position(conversationId: string): Promise<IndexPosition> {
    return this.#positions.call(conversationId);
  }

  apply(update: IndexUpdate): Promise<void> {
    return this.#applies.call(update);
  }

  /** The positions of several conversations, read in one statement. */
  async #readPositions(conversationIds: string[]): Promise<IndexPosition[]> {
    const { rows } = await this.#query<{ conversation_id: string; indexed_seq: string; indexed_change_seq: string }>(POSITIONS, [[...new Set(conversationIds)]]);
    const found = new Map(rows.map((r) => [r.conversation_id, { indexedSeq: Number(r.indexed_seq), indexedChangeSeq: Number(r.indexed_change_seq) }]));
    return conversationIds.map((id) => found.get(id) ?? { indexedSeq: 0, indexedChangeSeq: 0 });
  }

  /** Several conversations' updates (one each) in one statement. */
  async #applyAll(updates: IndexUpdate[]): Promise<void[]> {
    const positions: { id: string[]; seq: number[]; change: number[] } = { id: [], seq: [], change: [] };
    const removes: { id: string[]; seq: number[] } = { id: [], seq: [] };
    const puts: { id: string[]; seq: number[]; createdAt: number[]; tsv: string[] } = { id: [], seq: [], createdAt: [], tsv: [] };
    for (const update of [...updates].sort((x, y) => (x.conversationId < y.conversationId ? -1 : x.conversationId > y.conversationId ? 1 : 0))) {
      const id = update.conversationId;
      positions.id.push(id);
      positions.seq.push(update.position.indexedSeq);
      positions.change.push(update.position.indexedChangeSeq);
      const toRemove = new Set(update.remove);
      const toPut = new Map<number, IndexedMessage>();
      for (const m of update.put) toPut.set(m.seq, m);
      for (const m of toPut.values()) {
        const tsv = tsvectorLiteral(m.body);
        // A body with no word matches nothing: no row at all.
        if (tsv === '') toRemove.add(m.seq);
        else {
          toRemove.delete(m.seq);
          puts.id.push(id);
          puts.seq.push(m.seq);
          puts.createdAt.push(m.createdAt);
          puts.tsv.push(tsv);
        }
      }
      for (const seq of toRemove) {
        removes.id.push(id);
        removes.seq.push(seq);
      }
    }
    await this.#query(
      APPLY,
      [positions.id, positions.seq, positions.change, removes.id, removes.seq, puts.id, puts.seq, puts.createdAt, puts.tsv],
      'indexing messages',
    );
    return updates.map(() => undefined);
  }

  async candidates(query: CandidateQuery): Promise<CandidatePage> {
    const after = query.before === undefined ? undefined : decodeCandidateCursor(query.before);
    if (query.conversationIds.length === 0 || query.terms.length === 0) return { candidates: [], next: null };
    if (query.terms.some((t) => t.words.some((w) => Buffer.byteLength(w, 'utf8') > MAX_QUERY_WORD_BYTES))) return { candidates: [], next: null };
    // One row more than asked tells whether another page exists.
    const params: unknown[] = [[...new Set(query.conversationIds)], tsqueryLiteral(query.terms), query.limit + 1];
    if (after) params.push(after.createdAt, after.conversationId, after.seq);
    const shape = query.conversationIds.length <= PER_CONVERSATION_MAX ? PER_CONVERSATION : ACROSS_CONVERSATIONS;
    const sql = shape(after !== undefined);
    const { rows } = await this.#query<CandidateRow>(sql, params);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      candidates: page.map((r) => ({ conversationId: r.conversation_id, seq: Number(r.seq) })),
      next:
        rows.length > query.limit && last
          ? encodeCandidateCursor({ createdAt: Number(last.created_at), conversationId: last.conversation_id, seq: Number(last.seq) })
          : null,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[], doing = 'searching'): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new StoreUnavailableError('the search index is closed');
    try {
      return await this.#pool.query<R>(sql, params);
    } catch (err) {
      throw unavailable(err, doing);
    }
  }
}

/** Where a page of candidates ended: the last one's sort key. */
interface CandidateCursor {
  createdAt: number;
  conversationId: string;
  seq: number;
}

/** An opaque cursor: base64url of the last candidate's sort key as JSON. */
export function encodeCandidateCursor(c: CandidateCursor): string {
  return Buffer.from(JSON.stringify(['p', c.createdAt, c.conversationId, c.seq])).toString('base64url');
}

/** The cursor's sort key; BadRequestError for anything encodeCandidateCursor did not write. */
export function decodeCandidateCursor(cursor: string): CandidateCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new BadRequestError('malformed search cursor', { cause: err });
  }
  if (Array.isArray(parsed) && parsed.length === 4 && parsed[0] === 'p') {
    const [, createdAt, conversationId, seq] = parsed as unknown[];
    if (Number.isSafeInteger(createdAt) && typeof conversationId === 'string' && Number.isSafeInteger(seq)) {
      const c = { createdAt: createdAt as number, conversationId, seq: seq as number };
      // Re-encoding must give the cursor back: a cursor we did not write is refused.
      if (encodeCandidateCursor(c) === cursor) return c;
    }
  }
  throw new BadRequestError('malformed search cursor');
}

function unavailable(err: unknown, doing: string): ChatError {
  if (err instanceof ChatError) return err;
  return new StoreUnavailableError(`search database failed ${doing}: ${describe(err)}`, { cause: err });
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(' ') || String(err);
}
