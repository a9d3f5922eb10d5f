// The WAL checkpointer thread: copies committed WAL frames back into the
// database file, off the commit path. Plain JS because a worker cannot load
// TypeScript; deploy/build.mjs copies this file next to the bundle.
//
// Why a thread of its own: with SQLite's automatic checkpoint, the commit that
// pushes the WAL past 1,000 pages runs the checkpoint itself, inside the
// writer's turn: it copies those pages into the database and fsyncs it, which
// held that commit (and every write queued behind it) for ~10 ms here, and
// under load ran after nearly every commit. A PASSIVE checkpoint needs no write
// lock, so here it runs beside the writer, which keeps appending to the WAL.
//
// Started by the writer thread (sqlite-writer-worker.mjs) with
//   workerData: { filePath, synchronous, signal: Int32Array over a SharedArrayBuffer }
//   signal[0]: commits so far (the writer adds 1 and notifies after each commit)
//   signal[1]: 1 when the checkpointer must stop (the writer sets it and notifies signal[0])
// It sleeps in Atomics.wait while nothing is committed, so an idle store costs nothing.
import { workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** After the first commit since the last checkpoint, gather commits this long, then checkpoint. */
const INTERVAL_MS = 100;

const { filePath, synchronous, signal } = workerData;
const db = new Database(filePath, { timeout: 0 });
// The checkpoint's fsyncs (WAL before copying, database after) follow this
// connection's setting: both modes sync them, OFF would not.
db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const nap = new Int32Array(new SharedArrayBuffer(4));

// From 0, not from the current count: commits made while this thread was
// starting must be checkpointed too.
let seen = 0;
while (Atomics.load(signal, 1) === 0) {
  Atomics.wait(signal, 0, seen);
  if (Atomics.load(signal, 1) !== 0) break;
  Atomics.wait(nap, 0, 0, INTERVAL_MS);
  seen = Atomics.load(signal, 0);
  try {
    checkpoint.run();
  } catch (err) {
    // SQLITE_BUSY: another connection (another process's checkpointer) is
    // checkpointing this file right now; the next commit brings us back.
    if (!(err && err.code === 'SQLITE_BUSY')) throw err;
  }
}
db.close();
