// The SQLite writer thread: runs the append transactions (and their fsync)
// off the main event loop. Plain JS because a worker cannot load TypeScript;
// deploy/build.mjs copies this file next to the bundle.
//
// Every write of the store runs here, so writes never contend for the lock with
// the main thread (whose connection only reads) and never block its event loop.
//
// Protocol (from SqliteWriter, sqlite-writer.ts):
//   in:  { id, jobs: [{ op: 'append', ... } | { op: 'create', ... } | { op: 'update', ... } | { op: 'membership', ... } | { op: 'receipt', ... } | { op: 'user', ... } | { op: 'bot', ... } | { op: 'revokeBot', ... } | { op: 'indexSearch' }] }
//   out: { id, outcomes: [...] } — one outcome per job, in order — or { id, failed: { message, code } }
//        when the transaction as a whole could not be committed (nothing of it is durable).
import { Worker, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

// No SQLite busy timeout here: its busy handler sleeps in coarse steps (1, 2,
// 5, 10, 15, 20, 25 ms ...), which, when several processes share the file,
// turns a lock held for a millisecond into a 10-50 ms wait. This thread may
// block, so it retries BEGIN IMMEDIATE itself every 0.2 ms (see begin()).
const db = new Database(workerData.filePath, { timeout: 0 });
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${workerData.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
db.pragma('foreign_keys = ON');
// The pages a commit touches (each active conversation's message, index and
// head pages) stay cached between transactions: with SQLite's default 2 MB a
// few hundred active conversations already missed, one pread per page.
db.pragma('cache_size = -32768');

// Checkpoints run on a thread of their own (sqlite-checkpoint-worker.mjs), so
// no commit waits for one. The writer's own automatic checkpoint stays as a
// backstop, far above what the checkpointer lets the WAL reach (~100 ms of
// commits), in case that thread fails or falls behind.
const AUTOCHECKPOINT_BACKSTOP_PAGES = 20000;
const checkpointSignal = new Int32Array(new SharedArrayBuffer(8));
const checkpointer = new Worker(new URL('./sqlite-checkpoint-worker.mjs', import.meta.url), {
  workerData: { filePath: workerData.filePath, synchronous: workerData.synchronous, signal: checkpointSignal },
});
let checkpointerAlive = true;
db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_BACKSTOP_PAGES}`);
checkpointer.on('error', () => {
  // Back to SQLite's own checkpoints: slower commits, but the WAL stays bounded.
  checkpointerAlive = false;
  db.pragma('wal_autocheckpoint = 1000');
});
checkpointer.on('exit', () => {
  checkpointerAlive = false;
});

/** Tells the checkpointer a commit added frames to the WAL. */
function committed() {
  Atomics.add(checkpointSignal, 0, 1);
  Atomics.notify(checkpointSignal, 0);
}

const getHead = db.prepare('SELECT epoch, last_seq FROM conversations WHERE id = ?');
const getByKey = db.prepare('SELECT * FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?');
const insert = db.prepare(
  `INSERT INTO messages (conversation_id, seq, id, sender_id, client_msg_id, body, attachments, created_at, edited_at, deleted, reactions, change_seq,
     streaming, truncated, reply_to, thread_root, mentions)
   VALUES (@conversation_id, @seq, @id, @sender_id, @client_msg_id, @body, @attachments, @created_at, @edited_at, @deleted, @reactions, @change_seq,
     @streaming, @truncated, @reply_to, @thread_root, @mentions)`,
);
// A thread root's counters, moved by the append of its new replies; with a
// change position (AppendBatch.changeSeq) so sync's `updated` carries them.
const setThread = db.prepare('UPDATE messages SET thread_replies = ?, thread_last_at = ? WHERE conversation_id = ? AND seq = ?');
const setThreadChanged = db.prepare(
  'UPDATE messages SET thread_replies = ?, thread_last_at = ?, change_seq = MAX(change_seq, ?) WHERE conversation_id = ? AND seq = ?',
);
const getDeleted = db.prepare('SELECT deleted FROM messages WHERE conversation_id = ? AND seq = ?');
const updateMessage = db.prepare(
  `UPDATE messages SET body = @body, attachments = @attachments, edited_at = @edited_at, deleted = @deleted, reactions = @reactions,
     change_seq = @change_seq, streaming = @streaming, truncated = @truncated
   WHERE conversation_id = @conversation_id AND seq = @seq`,
);
// The conversation's change counter (sync's changesSince): the actor allocates
// the next value; MAX() keeps it from ever moving back, e.g. on a retried write.
const raiseChangeSeq = db.prepare('UPDATE conversations SET change_seq = MAX(change_seq, ?) WHERE id = ?');
const raiseEpoch = db.prepare('UPDATE conversations SET epoch = ? WHERE id = ? AND epoch < ?');
const moveHead = db.prepare('UPDATE conversations SET last_seq = ?, last_activity_at = ?, epoch = ? WHERE id = ?');
const insertConversation = db.prepare(
  `INSERT INTO conversations (id, kind, title, created_at, last_seq, last_activity_at, epoch)
   VALUES (@id, @kind, @title, @createdAt, 0, @createdAt, @epoch) ON CONFLICT (id) DO NOTHING`,
);
const insertMember = db.prepare(
  `INSERT INTO members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq) VALUES (?, ?, ?, ?, 0, 0)`,
);
const deleteMember = db.prepare('DELETE FROM members WHERE conversation_id = ? AND user_id = ?');
const addMember = db.prepare(
  `INSERT INTO members (conversation_id, user_id, role, joined_at, read_seq, delivered_seq) VALUES (?, ?, ?, ?, ?, ?)
   ON CONFLICT (conversation_id, user_id) DO NOTHING`,
);
const setRole = db.prepare('UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?');
const setTitle = db.prepare('UPDATE conversations SET title = ? WHERE id = ?');
// One UPDATE with MAX(): marks only move forward, capped at the head's last_seq
// (@last), and delivered_seq >= read_seq (reading implies delivery). SET
// expressions see the row's old values, so delivered covers the new read mark.
const markReceipt = db.prepare(
  `UPDATE members SET
     read_seq = MAX(read_seq, MIN(@readSeq, @last)),
     delivered_seq = MAX(delivered_seq, MIN(MAX(@deliveredSeq, @readSeq), @last))
   WHERE conversation_id = @conversationId AND user_id = @userId
   RETURNING delivered_seq, read_seq`,
);
const upsertUser = db.prepare(
  `INSERT INTO users (id, name, name_lower, id_lower) VALUES (@id, @name, @nameLower, @idLower)
   ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_lower = excluded.name_lower`,
);

const userExists = db.prepare('SELECT 1 FROM users WHERE id = ?');
const insertUser = db.prepare('INSERT INTO users (id, name, name_lower, id_lower) VALUES (@id, @name, @nameLower, @idLower)');
const insertBot = db.prepare('INSERT INTO bots (id, token_hash, created_at) VALUES (?, ?, ?)');
// Clearing the hash as well: a revoked token is not even stored.
const revokeBot = db.prepare('UPDATE bots SET revoked_at = ?, token_hash = NULL WHERE id = ? AND revoked_at IS NULL');

/** A bot's users and bots rows, unless the id is taken (then nothing is written). */
const createBotOne = db.transaction((job) => {
  if (userExists.get(job.user.id)) return { kind: 'conflict' };
  insertUser.run(job.user);
  insertBot.run(job.user.id, job.tokenHash, job.createdAt);
  return { kind: 'done' };
});

/** Creates a conversation with its members unless it exists (then reports created: false). */
const createOne = db.transaction((job) => {
  const c = job.conversation;
  if (insertConversation.run({ id: c.id, kind: c.kind, title: c.title, createdAt: c.createdAt, epoch: job.epoch }).changes === 0) {
    return { kind: 'created', created: false };
  }
  for (const m of c.members) insertMember.run(c.id, m.userId, m.role, c.createdAt);
  return { kind: 'created', created: true };
});

/** One conversation's append; throws to roll its savepoint back. */
const appendOne = db.transaction((batch) => {
  const head = getHead.get(batch.conversationId);
  if (!head) return { kind: 'not_found' };
  if (batch.epoch < head.epoch) return { kind: 'stale_epoch', recorded: head.epoch };
  if (head.last_seq !== batch.expectedLastSeq) return { kind: 'seq_conflict', actual: head.last_seq };
  const existing = [];
  for (const row of batch.rows) {
    const found = getByKey.get(batch.conversationId, row.sender_id, row.client_msg_id);
    if (found) existing.push(found);
  }
  if (existing.length > 0) return { kind: 'duplicates', rows: existing };
  for (const row of batch.rows) insert.run(row);
  const changeSeq = batch.changeSeq;
  for (const t of batch.threads ?? []) {
    if (changeSeq === undefined || changeSeq === null) setThread.run(t.replies, t.lastAt, batch.conversationId, t.root);
    else setThreadChanged.run(t.replies, t.lastAt, changeSeq, batch.conversationId, t.root);
  }
  if (changeSeq !== undefined && changeSeq !== null && (batch.threads ?? []).length > 0) raiseChangeSeq.run(changeSeq, batch.conversationId);
  moveHead.run(batch.lastSeq, batch.lastActivityAt, Math.max(head.epoch, batch.epoch), batch.conversationId);
  return { kind: 'appended' };
});

/** One message's edit, delete or reaction change, fenced by epoch like an append. */
const updateOne = db.transaction((job) => {
  const head = getHead.get(job.conversationId);
  if (!head) return { kind: 'not_found' };
  if (job.epoch < head.epoch) return { kind: 'stale_epoch', recorded: head.epoch };
  const current = getDeleted.get(job.conversationId, job.row.seq);
  if (!current) return { kind: 'not_found' };
  // Deletion is final: a late or buggy writer cannot bring a body back.
  if (current.deleted !== 0 && job.row.deleted === 0) return { kind: 'undelete_refused' };
  updateMessage.run(job.row);
  raiseChangeSeq.run(job.row.change_seq, job.conversationId);
  // A newer owner's first write records its epoch, fencing the old owner off (as appendOne does).
  raiseEpoch.run(job.epoch, job.conversationId, job.epoch);
  return { kind: 'updated' };
});

/** A membership change (remove, add, roles, title), fenced by epoch like an append. */
const membershipOne = db.transaction((job) => {
  const head = getHead.get(job.conversationId);
  if (!head) return { kind: 'not_found' };
  if (job.epoch < head.epoch) return { kind: 'stale_epoch', recorded: head.epoch };
  for (const userId of job.remove) deleteMember.run(job.conversationId, userId);
  for (const m of job.add) addMember.run(job.conversationId, m.userId, m.role, m.joinedAt, m.readSeq, m.deliveredSeq);
  for (const r of job.roles) setRole.run(r.role, job.conversationId, r.userId);
  if (typeof job.title === 'string') setTitle.run(job.title, job.conversationId);
  raiseChangeSeq.run(job.changeSeq, job.conversationId);
  raiseEpoch.run(job.epoch, job.conversationId, job.epoch);
  return { kind: 'done' };
});

/** A member's receipt marks, fenced by epoch; a higher epoch is not recorded (see ChatStore.markReceipt). */
const receiptOne = (job) => {
  const head = getHead.get(job.conversationId);
  if (!head) return { kind: 'not_found' };
  if (job.epoch < head.epoch) return { kind: 'stale_epoch', recorded: head.epoch };
  const { conversationId, userId, deliveredSeq, readSeq } = job;
  const row = markReceipt.get({ conversationId, userId, deliveredSeq, readSeq, last: head.last_seq });
  if (!row) return { kind: 'not_found' };
  return { kind: 'marked', deliveredSeq: row.delivered_seq, readSeq: row.read_seq };
};

// The search index catches up after the commits (schema V11 in schema.ts):
// rows of message_search_rows above the watermark are pending. Indexing them
// many at a time writes one FTS5 segment for all of them instead of one per
// commit.
const getWatermark = db.prepare('SELECT indexed_through AS wm FROM search_progress WHERE key = 0');
const pendingThrough = db.prepare('SELECT max(id) AS last FROM (SELECT id FROM message_search_rows WHERE id > ? ORDER BY id LIMIT ?)');
const indexPending = db.prepare(
  `INSERT INTO message_search (rowid, body, conv)
   SELECT r.id, m.body, hex(m.conversation_id) FROM message_search_rows r
     JOIN messages m ON m.conversation_id = r.conversation_id AND m.seq = r.seq
   WHERE r.id > ? AND r.id <= ? AND m.deleted = 0 AND coalesce(m.streaming, 0) = 0`,
);
const setWatermark = db.prepare('UPDATE search_progress SET indexed_through = ? WHERE key = 0');
/** Rows one background indexing transaction takes at most, so appends never wait long behind one. */
const INDEX_CHUNK = 2000;
/** How long new messages wait for the background indexer: long enough to gather many per segment. */
const INDEX_DELAY_MS = 100;

/** Indexes up to `limit` pending rows, oldest first; how many rowids it covered (0: none pending). */
function indexSearch(limit) {
  const { wm } = getWatermark.get();
  const { last } = pendingThrough.get(wm, limit);
  if (last === null) return 0;
  indexPending.run(wm, last);
  setWatermark.run(last);
  return last - wm;
}

/** Everything pending, before a search reads the index. */
const indexAll = () => {
  while (indexSearch(INDEX_CHUNK) > 0);
  return { kind: 'done' };
};

const indexChunk = db.transaction(() => indexSearch(INDEX_CHUNK));
let indexTimer;

/** Indexes what the commits left pending a moment from now, unless that is already planned. */
function scheduleIndexing(delayMs) {
  if (indexTimer !== undefined || closing) return;
  indexTimer = setTimeout(() => {
    indexTimer = undefined;
    let covered = 0;
    try {
      covered = withWriteLock(() => indexChunk.immediate());
      if (covered > 0) committed(); // its frames are the checkpointer's to copy, like a commit's
    } catch {
      // Busy past the timeout, or the disk refuses writes: the rows stay
      // pending (a search indexes them itself) and the next commit retries.
      return;
    }
    if (covered >= INDEX_CHUNK) scheduleIndexing(0);
  }, delayMs);
}

const run = (job) => {
  if (job.op === 'indexSearch') return indexAll();
  if (job.op === 'append') return appendOne(job);
  if (job.op === 'update') return updateOne(job);
  if (job.op === 'receipt') return receiptOne(job);
  if (job.op === 'create') return createOne(job);
  if (job.op === 'membership') return membershipOne(job);
  if (job.op === 'bot') return createBotOne(job);
  if (job.op === 'revokeBot') {
    revokeBot.run(job.revokedAt, job.id);
    return { kind: 'done' };
  }
  upsertUser.run(job.user);
  return { kind: 'done' };
};

const flush = db.transaction((jobs) =>
  jobs.map((job) => {
    try {
      // Nested transaction functions run as SAVEPOINTs: one job's failure leaves the others.
      return run(job);
    } catch (err) {
      return { kind: 'error', message: String(err && err.message), code: err && err.code };
    }
  }),
);

const pause = new Int32Array(new SharedArrayBuffer(4));
let closing = false;

/** Runs `write` (a BEGIN IMMEDIATE transaction), retrying while another connection holds the write lock, up to the busy timeout. */
function withWriteLock(write) {
  const deadline = Date.now() + workerData.busyTimeoutMs;
  for (;;) {
    try {
      return write();
    } catch (err) {
      // BEGIN IMMEDIATE failed before anything was written: safe to try again.
      if (!(err && err.code === 'SQLITE_BUSY') || Date.now() >= deadline) throw err;
      Atomics.wait(pause, 0, 0, 0.2);
    }
  }
}

parentPort.on('message', (msg) => {
  if (msg === 'close') {
    closing = true;
    clearTimeout(indexTimer);
    db.close();
    Atomics.store(checkpointSignal, 1, 1);
    Atomics.notify(checkpointSignal, 0);
    if (!checkpointerAlive) parentPort.close();
    else checkpointer.once('exit', () => parentPort.close());
    return;
  }
  try {
    const outcomes = withWriteLock(() => flush.immediate(msg.jobs));
    parentPort.postMessage({ id: msg.id, outcomes });
    committed();
    if (msg.jobs.some((job) => job.op === 'append' || job.op === 'update')) scheduleIndexing(INDEX_DELAY_MS);
  } catch (err) {
    parentPort.postMessage({ id: msg.id, failed: { message: String(err && err.message), code: err && err.code } });
  }
});
