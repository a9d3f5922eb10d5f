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
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@chat/conversation-actors';
import { newHistogram, recordMs, summarize } from './stats.js';

const { values: o } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    conversations: { type: 'string', default: '5000' },
    users: { type: 'string', default: '5000' },
    queries: { type: 'string', default: '3000' },
    limit: { type: 'string', default: '20' },
    dir: { type: 'string', default: '/tmp/chat-search-bench' },
    keep: { type: 'boolean', default: false },
    // Messages per write transaction while seeding (the store's writer batches what arrives meanwhile).
    batch: { type: 'string', default: '10000' },
    // Seed without the search triggers and measure nothing: the write cost the index adds is the difference.
    'no-index': { type: 'boolean', default: false },
  },
});
const MESSAGES = Number(o.messages);
const CONVERSATIONS = Number(o.conversations);
const USERS = Number(o.users);
const QUERIES = Number(o.queries);
const LIMIT = Number(o.limit);
const VOCABULARY = 30_000;
/** One user in many conversations: the widest membership filter a query gets. */
const WHALE_CONVERSATIONS = 400;

// Deterministic pseudo-random numbers (mulberry32), so runs are comparable.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (n: number) => Math.floor(rand() * n);
/** Zipf-like rank: word 0 is the most common, as in real text. */
const zipf = () => Math.floor(VOCABULARY ** rand()) - 1;
const letters = 'abcdefghijklmnopqrstuvwxyz';
const words = Array.from({ length: VOCABULARY }, (_, i) => {
  let w = '';
  for (let n = i + 26 * 26; n > 0; n = Math.floor(n / 26)) w += letters[n % 26];
  return w;
});

// The store's writer and checkpoint threads are plain .mjs files it expects next to its code: here, the bundle.
const here = path.dirname(fileURLToPath(import.meta.url));
const sqliteDir = path.join(here, '..', '..', 'conversation-actors', 'src', 'store', 'sqlite');
for (const f of ['sqlite-writer-worker.mjs', 'sqlite-checkpoint-worker.mjs']) fs.copyFileSync(path.join(sqliteDir, f), path.join(here, f));

fs.rmSync(o.dir, { recursive: true, force: true });
const file = path.join(o.dir, 'chat.db');
const user = (i: number) => `u${i}`;
const conv = (i: number) => `g_bench${i}`;
const members = new Map<string, string[]>();

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
    for (let i = 0; i < CONVERSATIONS; i++) {
      const set = new Set<string>();
      const n = 2 + pick(7);
      while (set.size < n) set.add(user(1 + pick(USERS - 1)));
      if (i % Math.ceil(CONVERSATIONS / WHALE_CONVERSATIONS) === 0) set.add(user(0));
      c.run(conv(i));
      for (const id of set) m.run(conv(i), id);
      members.set(conv(i), [...set]);
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
        const ci = pick(CONVERSATIONS);
        const seq = ++lastSeq[ci]!;
        const senders = members.get(conv(ci))!;
        const body = Array.from({ length: 4 + pick(20) }, zipf).map((w) => words[w]).join(' ');
        insert.run(conv(ci), seq, `m${k}`, senders[pick(senders.length)], `c${k}`, body, 1_700_000_000_000 + k);
      }
    })();
    if (done % 100_000 < BATCH) process.stderr.write(`\rseeded ${done + BATCH}`);
  }
  const head = db.prepare('UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?');
  db.transaction(() => lastSeq.forEach((s, i) => head.run(s, 1_700_000_000_000 + s, conv(i))))();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write('\n');
  console.log(`seeded ${MESSAGES} messages in ${CONVERSATIONS} conversations (${USERS} users) in ${secs.toFixed(1)} s (${Math.round(MESSAGES / secs)} msgs/s, ${o['no-index'] ? 'no search index' : 'FTS triggers included'}, ${BATCH} per transaction); file ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
}

/** The query kinds measured, each a function of the random source. */
const KINDS: Record<string, () => string> = {
  'common word': () => words[pick(10)]!,
  'mid word': () => words[100 + pick(900)]!,
  'rare word': () => words[10_000 + pick(20_000)]!,
  'two words': () => `${words[pick(200)]} ${words[pick(2000)]}`,
  'prefix (3 letters)': () => words[pick(3000)]!.slice(0, 3),
  'absent word': () => 'zzzzqx',
};

async function measure(): Promise<void> {
  const store = openSqliteStore({ dataDir: o.dir });
  const all = newHistogram();
  const whale = newHistogram();
  const perKind = new Map(Object.keys(KINDS).map((k) => [k, newHistogram()]));
  const kinds = Object.entries(KINDS);
  let hits = 0;
  // Warm the page cache a little, as a running server would be.
  for (let i = 0; i < 50; i++) await store.searchMessages(user(1 + pick(USERS - 1)), { text: words[pick(50)]!, limit: LIMIT });
  for (let i = 0; i < QUERIES; i++) {
    const [kind, make] = kinds[i % kinds.length]!;
    const isWhale = i % 10 === 0;
    const who = isWhale ? user(0) : user(1 + pick(USERS - 1));
    const text = make();
    const t = performance.now();
    const page = await store.searchMessages(who, { text, limit: LIMIT });
    const ms = performance.now() - t;
    hits += page.hits.length;
    recordMs(all, ms);
    recordMs(perKind.get(kind)!, ms);
    if (isWhale) recordMs(whale, ms);
  }
  await store.close();
  const row = (name: string, h: ReturnType<typeof newHistogram>) => {
    const s = summarize(h);
    return `${name.padEnd(22)} n=${String(s.count).padStart(5)}  p50 ${s.p50.toFixed(2).padStart(7)} ms  p90 ${s.p90.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  max ${s.max.toFixed(2).padStart(7)} ms`;
  };
  console.log(`searchMessages, limit ${LIMIT}, ${QUERIES} queries (mean ${(hits / QUERIES).toFixed(1)} hits):`);
  for (const [k, h] of perKind) console.log(row(k, h));
  console.log(row(`whale (${WHALE_CONVERSATIONS} convs)`, whale));
  console.log(row('all', all));
}

// The store's threads are unref'd (a server's sockets keep it alive): hold the event loop open meanwhile.
const keepAlive = setInterval(() => undefined, 1000);
try {
  await seed_();
  if (!o['no-index'] && QUERIES > 0) await measure();
} finally {
  clearInterval(keepAlive);
  if (!o.keep) fs.rmSync(o.dir, { recursive: true, force: true });
  for (const f of ['sqlite-writer-worker.mjs', 'sqlite-checkpoint-worker.mjs']) fs.rmSync(path.join(here, f), { force: true });
}
