import type { PoolClient } from 'pg';
import { StoreUnavailableError } from '../../errors.js';

/** The schema version this code writes and understands, kept in chat_search_meta. */
export const PG_SEARCH_SCHEMA_VERSION = 1;

// Any constant both ends agree on: every process opening the index takes this lock before it creates anything.
const SCHEMA_LOCK = 0x63686174_7331n; // "chats1"

/**
 * The secondary indexes of chat_search_messages (bulk loads drop them and
 * create them again after), each serving one way the planner may answer a
 * search (pg-search-index.ts):
 * - words: GIN on the tsvector, for words few messages have;
 * - conversation_time: newest first within one conversation, walked per
 *   conversation when the caller has few (a common word stops after `limit`);
 * - time: newest first across all, walked when the caller has many
 *   conversations and the word is common.
 */
export const MESSAGE_INDEXES = [
  'CREATE INDEX IF NOT EXISTS chat_search_messages_words ON chat_search_messages USING gin (tsv)',
  'CREATE INDEX IF NOT EXISTS chat_search_messages_conversation_time ON chat_search_messages (conversation_id, created_at, seq)',
  'CREATE INDEX IF NOT EXISTS chat_search_messages_time ON chat_search_messages (created_at, conversation_id, seq)',
];

/**
 * Version 1. Rows hold what matching and ordering need, never a body:
 * - chat_search_messages: one row per searchable message, its words and
 *   positions as a tsvector (pg-text-search.ts), and its createdAt (the order
 *   of results);
 * - chat_search_positions: how far each conversation is indexed (IndexPosition).
 * conversation_id uses the "C" collation: byte order, the same on every
 * server whatever its locale, so the keyset cursor means the same everywhere.
 */
const V1 = [
  `CREATE TABLE IF NOT EXISTS chat_search_messages (
     conversation_id text COLLATE "C" NOT NULL,
     seq bigint NOT NULL,
     created_at bigint NOT NULL,
     tsv tsvector NOT NULL,
     PRIMARY KEY (conversation_id, seq)
   )`,
  ...MESSAGE_INDEXES,
  `CREATE TABLE IF NOT EXISTS chat_search_positions (
     conversation_id text COLLATE "C" PRIMARY KEY,
     indexed_seq bigint NOT NULL,
     indexed_change_seq bigint NOT NULL
   )`,
];

/**
 * Brings the search database to this build's schema: idempotent, and safe
 * when several processes open it at once (a transaction-scoped advisory lock
 * serializes them). Refuses a database a newer build wrote rather than
 * misreading it.
 */
export async function applyPgSearchSchema(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS chat_search_meta (key text PRIMARY KEY, version integer NOT NULL)');
    const found = await client.query<{ version: number }>("SELECT version FROM chat_search_meta WHERE key = 'schema'");
    const current = found.rows[0]?.version ?? 0;
    if (current > PG_SEARCH_SCHEMA_VERSION) {
      throw new StoreUnavailableError(`the search database has schema version ${current}; this build understands up to ${PG_SEARCH_SCHEMA_VERSION}`);
    }
    if (current < PG_SEARCH_SCHEMA_VERSION) {
      for (const ddl of V1) await client.query(ddl);
      await client.query(
        "INSERT INTO chat_search_meta (key, version) VALUES ('schema', $1) ON CONFLICT (key) DO UPDATE SET version = EXCLUDED.version",
        [PG_SEARCH_SCHEMA_VERSION],
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
