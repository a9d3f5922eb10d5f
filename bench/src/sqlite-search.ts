// Message search latency over a large SQLite store (issue 18: p99 <= 50 ms
// over 1,000,000 messages). Seeds a fresh database file through the store's
// own schema (the FTS5 triggers index every row as a send would), then runs
// searchMessages as random members with a mix of queries and prints latency
// percentiles per query kind.
//   node bench/run.mjs sqlite-search --messages 1000000 --dir /tmp/search-bench
// The file is deleted at the end unless --keep is given. What the index costs
// writes: compare the seeding rates of
//   node bench/run.mjs sqlite-search --messages 200000 --batch 50 --queries 0
//   node bench/run.mjs sqlite-search --messages 200000 --batch 50 --no-index
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@chat/conversation-actors';
import { T0, WHALE_CONVERSATIONS, conv, copyStoreWorkers, corpusMessage, corpusOptions, corpusSizes, latencyRow, memberships, timeQueries, user } from './search-corpus.js';

const { values: o } = parseArgs({
  options: {
    ...corpusOptions('/tmp/chat-search-bench'),
    // Messages per write transaction while seeding (the store's writer batches what arrives meanwhile).
    batch: { type: 'string', default: '10000' },
    // Seed without the search triggers and measure nothing: the write cost the index adds is the difference.
    'no-index': { type: 'boolean', default: false },
  },
});
const { MESSAGES, CONVERSATIONS, USERS, QUERIES, LIMIT } = corpusSizes(o);
const removeStoreWorkers = copyStoreWorkers(import.meta.url);

fs.rmSync(o.dir, { recursive: true, force: true });
const file = path.join(o.dir, 'chat.db');
let members = new Map<string, string[]>();

async function seed_(): Promise<void> {
  // The schema (and its search triggers) exactly as the store creates it.
  await openSqliteStore({ dataDir: o.dir }).close();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  if (o['no-index']) for (const t of ['insert', 'update', 'delete']) db.exec(`DROP TRIGGER messages_search_${t}`);
  const t0 = performance.now();
  db.transaction(() => {
    const u = db.prepare('INSERT INTO users (id, name, name_lower, id_lower) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < USERS; i++) u.run(user(i), `User ${i}`, `user ${i}`, user(i));
    const c = db.prepare(`INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at, epoch) VALUES (?, 'group', 't', 0, 0, 0, 1)`);
    const m = db.prepare(`INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, 'member', 0)`);
    members = memberships(CONVERSATIONS, USERS);
    for (const [id, set] of members) {
      c.run(id);
      for (const member of set) m.run(id, member);
    }
  })();
  const insert = db.prepare(
    `INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const lastSeq = new Array<number>(CONVERSATIONS).fill(0);
  const BATCH = Number(o.batch);
  for (let done = 0; done < MESSAGES; done += BATCH) {
    db.transaction(() => {
      for (let k = done; k < Math.min(MESSAGES, done + BATCH); k++) {
        const m = corpusMessage(k, lastSeq, members);
        insert.run(m.conversationId, m.seq, `m${k}`, m.senderId, `c${k}`, m.body, m.createdAt);
      }
    })();
    if (done % 100_000 < BATCH) process.stderr.write(`\rseeded ${done + BATCH}`);
  }
  const head = db.prepare('UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?');
  db.transaction(() => lastSeq.forEach((s, i) => head.run(s, T0 + s, conv(i))))();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write('\n');
  console.log(`seeded ${MESSAGES} messages in ${CONVERSATIONS} conversations (${USERS} users) in ${secs.toFixed(1)} s (${Math.round(MESSAGES / secs)} msgs/s, ${o['no-index'] ? 'no search index' : 'FTS triggers included'}, ${BATCH} per transaction); file ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
}

async function measure(): Promise<void> {
  const store = openSqliteStore({ dataDir: o.dir });
  const { all, whale, perKind, hits } = await timeQueries((userId, query) => store.searchMessages(userId, query), { queries: QUERIES, users: USERS, limit: LIMIT });
  await store.close();
  console.log(`searchMessages, limit ${LIMIT}, ${QUERIES} queries (mean ${(hits / QUERIES).toFixed(1)} hits):`);
  for (const [k, h] of perKind) console.log(latencyRow(k, h));
  console.log(latencyRow(`whale (${WHALE_CONVERSATIONS} convs)`, whale));
  console.log(latencyRow('all', all));
}

// The store's threads are unref'd (a server's sockets keep it alive): hold the event loop open meanwhile.
const keepAlive = setInterval(() => undefined, 1000);
try {
  await seed_();
  if (!o['no-index'] && QUERIES > 0) await measure();
} finally {
  clearInterval(keepAlive);
  if (!o.keep) fs.rmSync(o.dir, { recursive: true, force: true });
  removeStoreWorkers();
}
