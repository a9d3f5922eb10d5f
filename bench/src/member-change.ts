// The store work of one membership change in a big group on SQLite
// (bench/README.md, "membership changes in a 100,000-member group"). Seeds a
// fresh database file through the store's own schema: one group of --members
// members and --messages messages by random members (every --mention-every'th
// mentions a member), members' read marks spread over the history as
// --read-share says; then, --changes times, does what a conversation actor
// does for add_members: the change (applyMembershipChange), then every
// member's view (getMemberViews), then the ConversationViews events sized for
// a --max-payload bus (chunkConversationViews, encoded as the NATS bus would),
// and prints each step's time.
//   node bench/run.mjs member-change --members 100000 --messages 2000
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Event, type MemberMarks } from '@chat/proto';
import { chunkConversationViews, openSqliteStore } from '@chat/conversation-actors';
import { copyStoreWorkers, rand } from './search-corpus.js';

const { values: o } = parseArgs({
  options: {
    members: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '2000' },
    // Share of the members who read everything; the others' marks are spread evenly over the history.
    'read-share': { type: 'string', default: '0.5' },
    'mention-every': { type: 'string', default: '20' },
    changes: { type: 'string', default: '5' },
    'max-payload': { type: 'string', default: String(1024 * 1024) },
    dir: { type: 'string', default: '/tmp/chat-member-change-bench' },
    keep: { type: 'boolean', default: false },
  },
});
const MEMBERS = Number(o.members);
const MESSAGES = Number(o.messages);
const READ_SHARE = Number(o['read-share']);
const MENTION_EVERY = Number(o['mention-every']);
const CHANGES = Number(o.changes);
const MAX_PAYLOAD = Number(o['max-payload']);
const CONV = 'big-group';
const user = (i: number): string => `user-${String(i).padStart(6, '0')}`;

const removeStoreWorkers = copyStoreWorkers(import.meta.url);
fs.rmSync(o.dir, { recursive: true, force: true });

async function seed(): Promise<void> {
  await openSqliteStore({ dataDir: o.dir }).close();
  const db = new Database(path.join(o.dir, 'chat.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const t0 = performance.now();
  db.transaction(() => {
    const u = db.prepare('INSERT INTO users (id, name, name_lower, id_lower) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < MEMBERS + CHANGES; i++) u.run(user(i), `User ${i}`, `user ${i}`, user(i));
    db.prepare(`INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at, epoch) VALUES (?, 'group', 'big', 0, ?, 0, 1)`).run(CONV, MESSAGES);
    const m = db.prepare(`INSERT INTO members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq) VALUES (?, ?, ?, 0, ?, ?)`);
    for (let i = 0; i < MEMBERS; i++) {
      const read = rand() < READ_SHARE ? MESSAGES : Math.floor(rand() * (MESSAGES + 1));
      m.run(CONV, user(i), i === 0 ? 'owner' : i <= 5 ? 'admin' : 'member', read, read);
    }
    const msg = db.prepare(`INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, body, created_at, mentions) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`);
    for (let seq = 1; seq <= MESSAGES; seq++) {
      const mentions = seq % MENTION_EVERY === 0 ? JSON.stringify([user(Math.floor(rand() * MEMBERS))]) : null;
      msg.run(CONV, seq, `m${seq}`, user(Math.floor(rand() * MEMBERS)), `c${seq}`, `message ${seq}`, mentions);
    }
  })();
  db.close();
  console.log(`seeded ${MEMBERS} members and ${MESSAGES} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function ms(from: number): number {
  return performance.now() - from;
}

async function run(): Promise<void> {
  await seed();
  const store = openSqliteStore({ dataDir: o.dir, viewMembers: 50 });
  const rows: { change: number; load: number; views: number; events: number; chunks: number; bytes: number }[] = [];
  try {
    let t = performance.now();
    const record = (await store.loadConversation(CONV))!;
    const load = ms(t);
    let ids = record.members.map((m) => m.userId);
    for (let k = 0; k < CHANGES; k++) {
      const added = user(MEMBERS + k);
      t = performance.now();
      await store.applyMembershipChange({
        conversationId: CONV,
        epoch: 1,
        add: [{ userId: added, role: 'member', joinedAt: Date.now(), readSeq: MESSAGES, deliveredSeq: MESSAGES }],
        remove: [],
        roles: [],
        changeSeq: k + 1,
      });
      const change = ms(t);
      ids = [...ids, added];
      t = performance.now();
      const views = await store.getMemberViews(CONV, ids);
      const viewsMs = ms(t);
      t = performance.now();
      const roles = new Map(views[0]!.view.members.map((m) => [m.userId, m.role]));
      const marks = views.map(({ userId, view }): MemberMarks => ({ userId, readSeq: view.readSeq, deliveredSeq: view.deliveredSeq, unread: view.unread, mentions: view.mentions, role: roles.get(userId) }));
      const shared = { ...views[0]!.view, members: views[0]!.view.members.slice(0, 50), readSeq: 0, deliveredSeq: 0, unread: 0, mentions: undefined, memberCount: ids.length };
      const chunks = chunkConversationViews(shared, marks, MAX_PAYLOAD);
      let bytes = 0;
      for (const value of chunks) bytes += Event.encode({ originReceivedAt: 0, kind: { $case: 'conversationViews', value } }).finish().length;
      rows.push({ change, load, views: viewsMs, events: ms(t), chunks: chunks.length, bytes });
    }
  } finally {
    await store.close();
    if (!o.keep) fs.rmSync(o.dir, { recursive: true, force: true });
    removeStoreWorkers();
  }
  console.log(`loadConversation (the actor's head, once): ${rows[0]!.load.toFixed(0)} ms`);
  console.log('change | applyMembershipChange ms | getMemberViews ms | ConversationViews build+encode ms | events | bytes');
  rows.forEach((r, i) => console.log(`${i + 1} | ${r.change.toFixed(1)} | ${r.views.toFixed(0)} | ${r.events.toFixed(0)} | ${r.chunks} | ${r.bytes}`));
}

// The store's writer thread and its close timer are unref'd: something must keep the process alive meanwhile.
const keepAlive = setInterval(() => {}, 1000);
try {
  await run();
} finally {
  clearInterval(keepAlive);
}
