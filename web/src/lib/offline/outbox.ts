import type { PendingSend } from '../state/chat-state.js';
import type { OfflineStore } from './offline-store.js';

/**
 * The outbox: keeps the sends the server has not acknowledged in an
 * OfflineStore, so they survive a reload or a browser restart and go out
 * again under their original clientMsgId (the server's idempotency makes the
 * repeat safe). It mirrors the ChatState's pending sends: `mirror` writes the
 * new and changed ones and deletes those that left (acknowledged, a
 * duplicate ack, seen in a sync, discarded). Writes run one at a time in call
 * order, so a put is never overtaken by the delete of the same entry.
 */
export class Outbox {
  /** What the store holds as far as this tab knows: what `mirror` compares with. */
  readonly #kept = new Map<string, PendingSend>();
  #tail: Promise<void> = Promise.resolve();

  constructor(
    readonly store: OfflineStore,
    /** Told about a write that failed (the send is then only in memory); never throws. */
    readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** The kept sends, oldest first (by createdAt, then clientMsgId for a stable order). */
  async restore(): Promise<PendingSend[]> {
    const sends = await this.store.outbox();
    for (const s of sends) this.#kept.set(s.clientMsgId, s);
    return sends.sort((a, b) => a.createdAt - b.createdAt || (a.clientMsgId < b.clientMsgId ? -1 : 1));
  }

  /**
   * Brings the store in line with `pending`, the unacknowledged sends now.
   * Resolves once these writes (and all earlier ones) have settled.
   */
  mirror(pending: Iterable<PendingSend>): Promise<void> {
    const writes: (() => Promise<void>)[] = [];
    const present = new Set<string>();
    for (const p of pending) {
      present.add(p.clientMsgId);
      const kept = this.#kept.get(p.clientMsgId);
      if (kept && kept.status === p.status && kept.error === p.error) continue;
      this.#kept.set(p.clientMsgId, p);
      writes.push(() => this.store.putSend(plain(p)));
    }
    for (const id of [...this.#kept.keys()]) {
      if (present.has(id)) continue;
      this.#kept.delete(id);
      writes.push(() => this.store.deleteSend(id));
    }
    if (writes.length > 0) {
      this.#tail = this.#tail.then(async () => {
        for (const write of writes) await write().catch(this.onError);
      });
    }
    return this.#tail;
  }

  /** Resolves once every write asked for so far has settled. */
  written(): Promise<void> {
    return this.#tail;
  }
}

/** The entry as stored: only the fields a PendingSend has, absent ones left out. */
function plain(p: PendingSend): PendingSend {
  const out: PendingSend = { clientMsgId: p.clientMsgId, conversationId: p.conversationId, body: p.body, attachments: p.attachments, createdAt: p.createdAt, status: p.status };
  if (p.replyTo !== undefined) out.replyTo = p.replyTo;
  if (p.threadRoot !== undefined) out.threadRoot = p.threadRoot;
  if (p.mentions !== undefined) out.mentions = p.mentions;
  if (p.error !== undefined) out.error = p.error;
  return out;
}
