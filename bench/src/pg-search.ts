// Message search latency with the PostgreSQL index (issue 18: p99 <= 50 ms
// over 1,000,000 messages), as the actors serve it with SEARCH=postgres:
// IndexedSearchStore over a SQLite store, candidates from PostgreSQL, each
// read back from the store. Seeds the same corpus as sqlite-search.ts into a
// fresh SQLite file (without its FTS5 index, which this path never reads) and
// into the PostgreSQL index at --pg-url (its tables emptied first: give it a
// database of its own), then runs the same query mix.
//   node bench/run.mjs pg-search --pg-url postgres://postgres@127.0.0.1:55432/postgres
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { IndexedSearchStore, MESSAGE_INDEXES, openPgSearchIndex, openSqliteStore, searchTerms, tsvectorLiteral } from '@chat/conversation-actors';
import { newHistogram, recordMs, summarize } from './stats.js';
import { KINDS, T0, WHALE_CONVERSATIONS, conv, copyStoreWorkers, corpusMessage, corpusOptions, corpusSizes, latencyRow, memberships, pick, timeQueries, user } from './search-corpus.js';

const { values: o } = parseArgs({
  options: {
    ...corpusOptions('/tmp/chat-pg-search-bench'),
    'pg-url': { type: 'string' },
    // Rows per INSERT while filling the index.
    batch: { type: 'string', default: '10000' },
    // Fill nothing: measure what a previous run with --keep left (same options), its indexes built again.
    'no-fill': { type: 'boolean', default: false },
  },
});
if (!o['pg-url']) {
  console.error('usage: node bench/run.mjs pg-search --pg-url postgres://user@host:port/database [--messages N] (the tables chat_search_* there are emptied)');
  process.exit(2);
}
const PG_URL = o['pg-url'];
const { MESSAGES, CONVERSATIONS, USERS, QUERIES, LIMIT } = corpusSizes(o);
const BATCH = Number(o.batch);
const TARGET_P99_MS = 50;

const removeStoreWorkers = copyStoreWorkers(import.meta.url);
const file = path.join(o.dir, 'chat.db');

async function fill(): Promise<void> {
  fs.rmSync(o.dir, { recursive: true, force: true });
  await openSqliteStore({ dataDir: o.dir }).close();
  await (await openPgSearchIndex({ url: PG_URL, poolMax: 1 })).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  for (const t of ['insert', 'update', 'delete']) db.exec(`DROP TRIGGER messages_search_${t}`);
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query('TRUNCATE chat_search_messages, chat_search_positions');
  // Bulk load: the secondary indexes are built once after the rows are in, as a restore would.
  await dropIndexes(client);
  const t0 = performance.now();
  const members = memberships(CONVERSATIONS, USERS);
  db.transaction(() => {
    const u = db.prepare('INSERT INTO users (id, name, name_lower, id_lower) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < USERS; i++) u.run(user(i), `User ${i}`, `user ${i}`, user(i));
    const c = db.prepare(`INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at, epoch) VALUES (?, 'group', 't', 0, 0, 0, 1)`);
    const m = db.prepare(`INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, 'member', 0)`);
    for (const [id, set] of members) {
      c.run(id);
      for (const member of set) m.run(id, member);
    }
  })();
  const insert = db.prepare(`INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const lastSeq = new Array<number>(CONVERSATIONS).fill(0);
  let pgMs = 0;
  for (let done = 0; done < MESSAGES; done += BATCH) {
    const rows = { conv: [] as string[], seq: [] as number[], at: [] as number[], tsv: [] as string[] };
    db.transaction(() => {
      for (let k = done; k < Math.min(MESSAGES, done + BATCH); k++) {
        const m = corpusMessage(k, lastSeq, members);
        insert.run(m.conversationId, m.seq, `m${k}`, m.senderId, `c${k}`, m.body, m.createdAt);
        rows.conv.push(m.conversationId);
        rows.seq.push(m.seq);
        rows.at.push(m.createdAt);
        rows.tsv.push(tsvectorLiteral(m.body));
      }
    })();
    const t = performance.now();
    await client.query(
      `INSERT INTO chat_search_messages (conversation_id, seq, created_at, tsv)
       SELECT c, s, a, t::tsvector FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) AS u(c, s, a, t)`,
      [rows.conv, rows.seq, rows.at, rows.tsv],
    );
    pgMs += performance.now() - t;
    if (done % 100_000 < BATCH) process.stderr.write(`\rfilled ${done + BATCH}`);
  }
  process.stderr.write('\n');
  const head = db.prepare('UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?');
  db.transaction(() => lastSeq.forEach((s, i) => head.run(s, T0 + s, conv(i))))();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  await client.query(
    `INSERT INTO chat_search_positions (conversation_id, indexed_seq, indexed_change_seq) SELECT c, s, 0 FROM unnest($1::text[], $2::bigint[]) AS u(c, s)`,
    [lastSeq.map((_, i) => conv(i)), lastSeq],
  );
  const index = await buildIndexes(client);
  await client.end();
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `filled ${MESSAGES} messages in ${CONVERSATIONS} conversations (${USERS} users) in ${secs.toFixed(1)} s: PostgreSQL inserts ${(pgMs / 1000).toFixed(1)} s (${Math.round(MESSAGES / (pgMs / 1000))} rows/s, ${BATCH} per INSERT); ${index}`,
  );
}

/** The schema's secondary indexes, by name. */
const indexNames = MESSAGE_INDEXES.map((ddl) => /INDEX IF NOT EXISTS (\w+)/.exec(ddl)![1]!);

async function dropIndexes(client: pg.Client): Promise<void> {
  for (const name of indexNames) await client.query(`DROP INDEX IF EXISTS ${name}`);
}

/** (Re)builds the schema's secondary indexes; says what it cost. */
async function buildIndexes(client: pg.Client): Promise<string> {
  await dropIndexes(client);
  const t = performance.now();
  await client.query("SET maintenance_work_mem = '256MB'");
  for (const ddl of MESSAGE_INDEXES) await client.query(ddl);
  await client.query('VACUUM ANALYZE chat_search_messages');
  const secs = (performance.now() - t) / 1000;
  const { rows } = await client.query<{ table: string; index: string }>(
    `SELECT pg_size_pretty(pg_table_size('chat_search_messages')) AS table, pg_size_pretty(pg_indexes_size('chat_search_messages')) AS index`,
  );
  return `indexes (${indexNames.join(', ')}) built in ${secs.toFixed(1)} s; table ${rows[0]?.table}, indexes ${rows[0]?.index}`;
}

async function measure(): Promise<boolean> {
  const index = await openPgSearchIndex({ url: PG_URL, poolMax: 4 });
  const store = new IndexedSearchStore(openSqliteStore({ dataDir: o.dir }), index);
  const { all, whale, perKind, hits } = await timeQueries((userId, query) => store.searchMessages(userId, query), { queries: QUERIES, users: USERS, limit: LIMIT });
  const candidatesOnly = newHistogram();
  const kinds = Object.entries(KINDS);
  // The index's part alone, for the same kind of calls: membership read once, candidates timed.
  for (let i = 0; i < Math.min(QUERIES, 600); i++) {
    const [, make] = kinds[i % kinds.length]!;
    const conversationIds = await store.userConversationIds(i % 10 === 0 ? user(0) : user(1 + pick(USERS - 1)));
    const t = performance.now();
    await index.candidates({ conversationIds, terms: searchTerms(make()), limit: LIMIT });
    recordMs(candidatesOnly, performance.now() - t);
  }
  await store.close();
  console.log(`searchMessages (IndexedSearchStore: SQLite store, PostgreSQL index), limit ${LIMIT}, ${QUERIES} queries (mean ${(hits / QUERIES).toFixed(1)} hits):`);
  for (const [k, h] of perKind) console.log(latencyRow(k, h));
  console.log(latencyRow(`whale (${WHALE_CONVERSATIONS} convs)`, whale));
  console.log(latencyRow('all', all));
  console.log(latencyRow('index candidates only', candidatesOnly));
  const p99 = summarize(all).p99;
  const pass = p99 <= TARGET_P99_MS;
  console.log(`verdict: ${pass ? 'PASS' : 'FAIL'} (p99 ${p99.toFixed(2)} ms, target <= ${TARGET_P99_MS} ms)`);
  return pass;
}

// The store's threads are unref'd (a server's sockets keep it alive): hold the event loop open meanwhile.
const keepAlive = setInterval(() => undefined, 1000);
let pass = true;
try {
  if (!o['no-fill']) await fill();
  else {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    console.log(await buildIndexes(client).finally(() => client.end()));
  }
  if (QUERIES > 0) pass = await measure();
} finally {
  clearInterval(keepAlive);
  if (!o.keep) fs.rmSync(o.dir, { recursive: true, force: true });
  removeStoreWorkers();
}
process.exitCode = pass ? 0 : 1;
