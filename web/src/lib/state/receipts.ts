/** One member's receipt watermarks in one conversation. */
export interface Watermarks {
  deliveredSeq: number;
  readSeq: number;
}

/**
 * Every member's receipt watermarks per conversation, as `receipt` events
 * report them. Watermarks only move forward: a late or repeated event never
 * lowers one, and read implies delivered.
 */
export class ReceiptBook {
  readonly #marks = new Map<string, Map<string, Watermarks>>();

  apply(conversationId: string, userId: string, deliveredSeq: number, readSeq: number): Watermarks {
    let byUser = this.#marks.get(conversationId);
    if (!byUser) this.#marks.set(conversationId, (byUser = new Map()));
    const held = byUser.get(userId) ?? { deliveredSeq: 0, readSeq: 0 };
    const read = Math.max(held.readSeq, readSeq);
    const next = { readSeq: read, deliveredSeq: Math.max(held.deliveredSeq, deliveredSeq, read) };
    byUser.set(userId, next);
    return next;
  }

  get(conversationId: string, userId: string): Watermarks {
    return this.#marks.get(conversationId)?.get(userId) ?? { deliveredSeq: 0, readSeq: 0 };
  }

  /** Users whose read watermark has reached `seq`, in the order they were first seen. */
  readersOf(conversationId: string, seq: number): string[] {
    const out: string[] = [];
    for (const [userId, m] of this.#marks.get(conversationId) ?? []) if (m.readSeq >= seq) out.push(userId);
    return out;
  }

  clear(): void {
    this.#marks.clear();
  }
}
