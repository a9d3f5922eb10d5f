// Conversation views of a big group on the ScyllaDB store (bench/README.md,
// "bounded views on the ScyllaDB store"), on a running Cassandra or ScyllaDB
// node (`npm run cassandra`). Creates a fresh keyspace with the store's own
// migrations and seeds one group of --members members (the first owner, the
// next 5 admins; read marks as --read-share says) and --messages messages by
// random members (every --mention-every'th mentions one), with raw CQL, as a
// build of the schema would have written it; then runs `chat migrate`'s
// backfill where the build has one. Then, --changes times: one member added
// (applyMembershipChange), every member's view (getMemberViews), and
// --views single-user views of a plain member far down the id order
// (getConversationViews on a store opened with --view-members: bounded in the
// store where the build can, else read whole and bounded by boundView, as the
// actor does). Prints each step's time.
//   node bench/run.mjs scylla-views --contact-points 127.0.0.1:9042 --members 100000
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { boundView } from '@chat/proto';
import * as actors from '@chat/conversation-actors';
import { applyMigrations, createScyllaClient, DDL_OPTIONS, loadMigrations, openScyllaStore, scyllaEnvSchema, scyllaOptionsFromEnv } from '@chat/conversation-actors';
import { loadEnvConfig } from '@chat/platform';
import { rand } from './search-corpus.js';

const { values: o } = parseArgs({
  options: {
    'contact-points': { type: 'string', default: process.env['SCYLLA_CONTACT_POINTS'] ?? '127.0.0.1:9042' },
    keyspace: { type: 'string', default: 'chat_bench_views' },
    members: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '2000' },
    'read-share': { type: 'string', default: '0.5' },
    'mention-every': { type: 'string', default: '20' },
    changes: { type: 'string', default: '3' },
    views: { type: 'string', default: '10' },
    'view-members': { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
  },
});
const MEMBERS = Number(o.members);
const MESSAGES = Number(o.messages);
const CHANGES = Number(o.changes);
const VIEWS = Number(o.views);
const VIEW_MEMBERS = Number(o['view-members']);
const CONV = 'big-group';
const user = (i: number): string => `user-${String(i).padStart(6, '0')}`;
const options = scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, { SCYLLA_CONTACT_POINTS: o['contact-points'], SCYLLA_KEYSPACE: o.keyspace }));
// run.mjs bundles this file into bench/dist/: the migrations are read from the sources.
const MIGRATIONS = fileURLToPath(new URL('../../conversation-actors/src/store/scylla/migrations/', import.meta.url));

/** Runs `fn` over `items`, `n` at a time. */
async function inParallel<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function seed(): Promise<void> {
  const admin = createScyllaClient(options, { keyspace: false });
  await admin.connect();
  await admin.execute(`DROP KEYSPACE IF EXISTS ${o.keyspace}`, [], DDL_OPTIONS);
  await admin.execute(`CREATE KEYSPACE ${o.keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`, [], DDL_OPTIONS);
  await admin.shutdown();
  const client = createScyllaClient(options);
  await client.connect();
  const t0 = performance.now();
  try {
    await applyMigrations(client, loadMigrations(MIGRATIONS));
    await client.execute(
      'INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at, epoch, change_seq, founders) VALUES (?, ?, ?, 0, ?, 0, 1, 0, ?) IF NOT EXISTS',
      [CONV, 'group', 'big', MESSAGES, '[]'],
      { prepare: true },
    );
    const chunks: number[][] = [];
    for (let i = 0; i < MEMBERS; i += 100) chunks.push(Array.from({ length: Math.min(100, MEMBERS - i) }, (_, k) => i + k));
    await inParallel(chunks, 16, async (chunk) => {
      const marks = chunk.map(() => (rand() < Number(o['read-share']) ? MESSAGES : Math.floor(rand() * (MESSAGES + 1))));
      const role = (i: number): string => (i === 0 ? 'owner' : i <= 5 ? 'admin' : 'member');
      // Unlogged batches of one partition each: one mutation per batch on the node.
      await client.batch(chunk.map((i) => ({ query: 'INSERT INTO members (conversation_id, user_id, role, joined_at) VALUES (?, ?, ?, 0)', params: [CONV, user(i), role(i)] })), { prepare: true, logged: false });
      await client.batch(chunk.map((i, k) => ({ query: 'INSERT INTO receipts (conversation_id, user_id, read_seq, delivered_seq) VALUES (?, ?, ?, ?)', params: [CONV, user(i), marks[k], marks[k]] })), { prepare: true, logged: false });
    });
    const seqs = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    await inParallel(seqs, 16, async (seq) => {
      const mentions = seq % Number(o['mention-every']) === 0 ? JSON.stringify([user(Math.floor(rand() * MEMBERS))]) : null;
      await client.execute(
        'INSERT INTO messages (conversation_id, bucket, seq, id, sender_id, client_msg_id, body, created_at, deleted, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, 0, false, ?)',
        [CONV, Math.floor(seq / 1000), seq, `m${seq}`, user(Math.floor(rand() * MEMBERS)), `c${seq}`, `message ${seq}`, mentions],
        { prepare: true },
      );
    });
    console.log(`seeded ${MEMBERS} members and ${MESSAGES} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // A build with member summaries counts the group as `chat migrate` does after an upgrade.
    const backfill = (actors as Record<string, unknown>)['backfillMemberSummaries'] as ((c: unknown) => Promise<{ counted: number }>) | undefined;
    if (backfill) {
      const t = performance.now();
      console.log(`backfill: ${(await backfill(client)).counted} summary counted in ${(performance.now() - t).toFixed(0)} ms`);
    }
  } finally {
    await client.shutdown();
  }
}

const ms = (from: number): number => performance.now() - from;
const range = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)} ms (median ${[...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1)})`;

async function run(): Promise<void> {
  await seed();
  // The fourth argument is ignored by a build without bounded views: its views are read whole.
  const store = await openScyllaStore(options, createScyllaClient, undefined, { viewMembers: VIEW_MEMBERS });
  const viewer = user(MEMBERS - 7);
  const single: number[] = [];
  const rows: { change: number; views: number }[] = [];
  try {
    const single1 = async (): Promise<void> => {
      for (let k = 0; k < VIEWS; k++) {
        const t = performance.now();
        const [view] = await store.getConversationViews(viewer, [CONV]);
        const bounded = boundView(view!, viewer, VIEW_MEMBERS);
        single.push(ms(t));
        if (bounded.members.length !== VIEW_MEMBERS || bounded.memberCount === undefined) throw new Error('unexpected view');
      }
    };
    await single1();
    let ids = Array.from({ length: MEMBERS }, (_, i) => user(i));
    for (let k = 0; k < CHANGES; k++) {
      const added = `added-${k}`;
      let t = performance.now();
      await store.applyMembershipChange({ conversationId: CONV, epoch: 1, add: [{ userId: added, role: 'member', joinedAt: Date.now(), readSeq: MESSAGES, deliveredSeq: MESSAGES }], remove: [], roles: [], changeSeq: k + 1 });
      const change = ms(t);
      ids = [...ids, added];
      t = performance.now();
      const views = await store.getMemberViews(CONV, ids);
      if (views.length !== ids.length) throw new Error(`got ${views.length} views of ${ids.length}`);
      rows.push({ change, views: ms(t) });
      await single1();
    }
  } finally {
    await store.close();
    if (!o.keep) {
      const admin = createScyllaClient(options, { keyspace: false });
      await admin.connect();
      await admin.execute(`DROP KEYSPACE IF EXISTS ${o.keyspace}`, [], DDL_OPTIONS);
      await admin.shutdown();
    }
  }
  console.log('change | applyMembershipChange ms | getMemberViews ms');
  rows.forEach((r, i) => console.log(`${i + 1} | ${r.change.toFixed(1)} | ${r.views.toFixed(0)}`));
  console.log(`single-user view (getConversationViews + boundView), ${single.length} reads: ${range(single)}`);
}

await run();
