import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StoreUnavailableError } from '../../errors.js';
import { sqliteFailure } from './sqlite-errors.js';

/** One conversation's append as the writer thread executes it (rows already in table form). */
export interface WriterBatch {
  conversationId: string;
  epoch: number;
  expectedLastSeq: number;
  rows: object[];
  /** Thread roots' counters to set (AppendBatch.threads). */
  threads?: { root: number; replies: number; lastAt: number }[] | undefined;
  /** The roots' and the conversation's changeSeq after the append (AppendBatch.changeSeq); absent: left as they are. */
  changeSeq?: number | undefined;
  lastSeq: number;
  lastActivityAt: number;
}

/** A conversation to create (with its members) at an epoch. */
export interface WriterCreate {
  conversation: { id: string; kind: string; title: string | null; createdAt: number; members: { userId: string; role: string }[] };
  epoch: number;
}

/** A message's mutable columns to replace (row in table form), at an epoch. */
export interface WriterUpdate {
  conversationId: string;
  epoch: number;
  row: object;
}

/** A membership change (MembershipChange of store.ts) at an epoch. */
export interface WriterMembership {
  conversationId: string;
  epoch: number;
  add: { userId: string; role: string; joinedAt: number; readSeq: number; deliveredSeq: number }[];
  remove: string[];
  roles: { userId: string; role: string }[];
  title?: string | undefined;
  /** The conversation's changeSeq after the change (raised to it, never lowered). */
  changeSeq: number;
}

/** A member's receipt marks to move forward (0: leave as stored), at an epoch. */
export interface WriterReceipt {
  conversationId: string;
  userId: string;
  epoch: number;
  deliveredSeq: number;
  readSeq: number;
}

/** A users row to insert or rename. */
export interface WriterUser {
  id: string;
  name: string;
  nameLower: string;
  idLower: string;
}

/** A bot account to create: its users row and its bots row, in one transaction. */
export interface WriterBot {
  user: WriterUser;
  tokenHash: string;
  createdAt: number;
}

/** A bot whose token to revoke (a no-op when it is revoked already or no bot). */
export interface WriterRevokeBot {
  id: string;
  revokedAt: number;
}

type Job =
  | ({ op: 'append' } & WriterBatch)
  | ({ op: 'create' } & WriterCreate)
  | ({ op: 'update' } & WriterUpdate)
  | ({ op: 'membership' } & WriterMembership)
  | ({ op: 'receipt' } & WriterReceipt)
  | { op: 'user'; user: WriterUser }
  | ({ op: 'bot' } & WriterBot)
  | ({ op: 'revokeBot' } & WriterRevokeBot)
  | { op: 'indexSearch' };

/** What the writer thread did with one job. */
export type WriterOutcome =
  | { kind: 'appended' }
  | { kind: 'created'; created: boolean }
  | { kind: 'done' }
  | { kind: 'updated' }
  | { kind: 'marked'; deliveredSeq: number; readSeq: number }
  | { kind: 'undelete_refused' }
  | { kind: 'conflict' }
  | { kind: 'duplicates'; rows: unknown[] }
  | { kind: 'not_found' }
  | { kind: 'stale_epoch'; recorded: number }
  | { kind: 'seq_conflict'; actual: number }
  | { kind: 'error'; message: string; code?: string };

interface Item {
  job: Job;
  resolve(outcome: WriterOutcome): void;
  reject(err: Error): void;
}

const WORKER_FILE = 'sqlite-writer-worker.mjs';

/**
 * Runs every write of the store on a writer thread, so SQLite's commit fsync
 * and lock waits never block the event loop (the main connection only reads).
 * One transaction is in flight at a time; writes arriving meanwhile wait and
 * go together in the next one, so batches grow with load (group commit across
 * conversations) and each fsync covers all of them. An outcome resolves only
 * after its transaction committed.
 */
export class SqliteWriter {
  readonly #worker: Worker;
  #pending: Item[] = [];
  #inFlight: Item[] | undefined;
  #nextId = 0;
  #scheduled = false;
  #closed = false;
  #idle: (() => void) | undefined;
  #failure: Error | undefined;

  constructor(filePath: string, busyTimeoutMs: number, synchronous: 'full' | 'normal') {
    this.#worker = new Worker(workerPath(), { workerData: { filePath, busyTimeoutMs, synchronous } });
    this.#worker.unref();
    this.#worker.on('message', (msg: { id: number; outcomes?: WriterOutcome[]; failed?: { message: string; code?: string } }) => this.#settle(msg));
    this.#worker.on('error', (err) => this.#crash(err));
    this.#worker.on('exit', (code) => {
      if (!this.#closed) this.#crash(new Error(`SQLite writer thread exited with code ${code}`));
    });
  }

  append(batch: WriterBatch): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'append', ...batch });
  }

  create(create: WriterCreate): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'create', ...create });
  }

  update(update: WriterUpdate): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'update', ...update });
  }

  membership(change: WriterMembership): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'membership', ...change });
  }

  receipt(mark: WriterReceipt): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'receipt', ...mark });
  }

  upsertUser(user: WriterUser): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'user', user });
  }

  /** `done`, or `conflict` when the id is a user already. */
  createBot(bot: WriterBot): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'bot', ...bot });
  }

  /** `done` whether or not anything changed. */
  revokeBot(revoke: WriterRevokeBot): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'revokeBot', ...revoke });
  }

  /**
   * `done` once every message committed so far is in the search index (new
   * messages reach it shortly after their commit; schema V11 in schema.ts).
   */
  indexSearch(): Promise<WriterOutcome> {
    return this.#enqueue({ op: 'indexSearch' });
  }

  #enqueue(job: Job): Promise<WriterOutcome> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('the SQLite store is closed'));
    if (this.#failure) return Promise.reject(new StoreUnavailableError('the SQLite writer thread failed', { cause: this.#failure }));
    return new Promise((resolve, reject) => {
      this.#pending.push({ job, resolve, reject });
      // Collect what arrives in this turn; if a transaction is in flight, its
      // completion sends everything that waited.
      if (!this.#inFlight && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#send();
        });
      }
    });
  }

  /** Writes everything accepted so far, then stops the thread. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#inFlight || this.#pending.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        if (!this.#inFlight) this.#send();
      });
    }
    this.#closed = true;
    this.#worker.postMessage('close');
    await new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
  }

  #send(): void {
    if (this.#inFlight || this.#pending.length === 0) return;
    const items = this.#pending;
    this.#pending = [];
    this.#inFlight = items;
    this.#worker.postMessage({ id: ++this.#nextId, jobs: items.map((i) => i.job) });
  }

  #settle(msg: { outcomes?: WriterOutcome[]; failed?: { message: string; code?: string } }): void {
    const items = this.#inFlight ?? [];
    this.#inFlight = undefined;
    if (msg.failed) {
      const cause = Object.assign(new Error(msg.failed.message), { code: msg.failed.code });
      const err = sqliteFailure(`SQLite commit failed: ${msg.failed.message}`, msg.failed.code, cause);
      for (const item of items) item.reject(err);
    } else {
      items.forEach((item, i) => item.resolve(msg.outcomes?.[i] ?? { kind: 'error', message: 'no outcome from the writer' }));
    }
    if (this.#pending.length > 0) this.#send();
    else if (this.#idle) this.#idle();
  }

  #crash(err: Error): void {
    this.#failure = err;
    const all = [...(this.#inFlight ?? []), ...this.#pending];
    this.#inFlight = undefined;
    this.#pending = [];
    for (const item of all) item.reject(new StoreUnavailableError('the SQLite writer thread failed', { cause: err }));
    this.#idle?.();
  }
}

/** The worker script: beside this module in the sources, beside the bundle once built. */
function workerPath(): string {
  const path = fileURLToPath(new URL(`./${WORKER_FILE}`, import.meta.url));
  if (!existsSync(path)) throw new StoreUnavailableError(`SQLite writer script missing: ${path} (rebuild with npm run build)`);
  return path;
}
