import type { ChatMessage } from '@chat/proto';
import type { ChatStore, ThreadSummary } from '../store/store.js';
import { readMessageAt } from '../store/read-message.js';

/** Why a root cannot take replies, with the protocol code it is answered with. */
export interface RootProblem {
  code: 'not_found' | 'bad_request';
  message: string;
}

/**
 * The send path's side of threads (docs/protocol.md, "Threads"): which
 * roots a batch's thread replies may go to, and the counters the append
 * writes on them. The actor is its conversation's only writer, so it counts:
 * a root's counters are read once (one indexed read, on the first reply to it
 * since the actor started) and kept here, moved only by appends that
 * succeeded. Counters only change with appends, which move the head: an actor
 * whose memory is stale (another owner wrote meanwhile) has its append
 * refused (SeqConflictError), forgets them and reads them again. Sends that
 * are not thread replies never touch this.
 */
export class ThreadRoots {
  readonly #known = new Map<number, ThreadSummary>();

  /** `limit`: roots remembered; the oldest beyond it are read again when next replied to. */
  constructor(
    private readonly store: ChatStore,
    private readonly conversationId: string,
    private readonly limit = 10_000,
  ) {}

  /**
   * Reads the roots not yet known, all at once; resolves with why each
   * unusable root cannot take replies (a thread reply is no root: threads do
   * not nest). A root is known to exist already: seqs are gapless, and the
   * caller checked it is at most the head's lastSeq. `epoch`: the actor's,
   * under which the store settles what it owes first (ChatStore.settleWrites).
   */
  async load(roots: readonly number[], epoch: number): Promise<Map<number, RootProblem>> {
    const problems = new Map<number, RootProblem>();
    const missing = [...new Set(roots)].filter((r) => !this.#known.has(r));
    if (missing.length === 0) return problems;
    // A failed append may still be owed by the store (Scylla): read the roots
    // after it lands, or the next counters would be counted from before it.
    await this.store.settleWrites?.(this.conversationId, epoch);
    const found = await Promise.all(missing.map((seq) => readMessageAt(this.store, this.conversationId, seq)));
    missing.forEach((seq, i) => {
      const root = found[i];
      if (!root) problems.set(seq, { code: 'not_found', message: `threadRoot: no message ${seq} in this conversation` });
      else if (root.threadRoot !== undefined) problems.set(seq, { code: 'bad_request', message: `threadRoot: message ${seq} is itself a thread reply; threads do not nest` });
      else this.#remember({ root: seq, replies: root.threadReplies ?? 0, lastAt: root.threadLastAt ?? 0 });
    });
    return problems;
  }

  /** The counters `messages` (a batch about to be written; roots loaded) leave their roots with, one per root. */
  after(messages: readonly ChatMessage[]): ThreadSummary[] {
    const next = new Map<number, ThreadSummary>();
    for (const m of messages) {
      if (m.threadRoot === undefined) continue;
      const before = next.get(m.threadRoot) ?? this.#known.get(m.threadRoot) ?? { root: m.threadRoot, replies: 0, lastAt: 0 };
      next.set(m.threadRoot, { root: m.threadRoot, replies: before.replies + 1, lastAt: Math.max(before.lastAt, m.createdAt) });
    }
    return [...next.values()];
  }

  /** The batch carrying `summaries` is stored. */
  committed(summaries: readonly ThreadSummary[]): void {
    for (const s of summaries) this.#remember(s);
  }

  /** A write failed: what it did is unknown, so every root is read again. */
  forget(): void {
    this.#known.clear();
  }

  #remember(summary: ThreadSummary): void {
    this.#known.delete(summary.root);
    this.#known.set(summary.root, summary);
    if (this.#known.size > this.limit) this.#known.delete(this.#known.keys().next().value as number);
  }
}
