import type { Message } from '@chat/client';

/** What inserting a message did. */
export type InsertOutcome = 'added' | 'replaced' | 'ignored';

/**
 * The messages of one conversation this client holds, deduped by seq and
 * kept in seq order. It holds a range starting at its lowest seq (`low`);
 * `contiguousHigh` is the top of the unbroken run from there, the mark a
 * `sync` continues from. A message above a hole (missed while offline) is
 * kept, and `firstGap` says which history to fetch to close the hole.
 */
export class MessageLog {
  readonly #bySeq = new Map<number, Message>();
  #sorted: Message[] | null = [];
  #low = 0;
  #high = 0;
  #max = 0;

  get size(): number {
    return this.#bySeq.size;
  }

  /** The lowest seq held; 0 when empty. */
  get low(): number {
    return this.#low;
  }

  /** The highest seq such that every seq from `low` to it is held; 0 when empty. */
  get contiguousHigh(): number {
    return this.#high;
  }

  /** The highest seq held; 0 when empty. */
  get maxSeq(): number {
    return this.#max;
  }

  /** Whether the conversation has messages older than the ones held. */
  get hasOlder(): boolean {
    return this.#low > 1;
  }

  get(seq: number): Message | undefined {
    return this.#bySeq.get(seq);
  }

  /** The held messages in ascending seq order: the same array until something changes, then a new one. */
  messages(): readonly Message[] {
    if (!this.#sorted) this.#sorted = [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.#sorted;
  }

  /**
   * Adds a message, or replaces the held one with the same seq when the
   * incoming one is at least as recent (its changeSeq is not lower), so a
   * late `message.new` or an old history page never undoes an edit.
   */
  insert(message: Message): InsertOutcome {
    const held = this.#bySeq.get(message.seq);
    if (held) {
      if ((message.changeSeq ?? 0) < (held.changeSeq ?? 0) || sameMessage(held, message)) return 'ignored';
      this.#bySeq.set(message.seq, message);
      this.#sorted = null;
      return 'replaced';
    }
    const seq = message.seq;
    this.#bySeq.set(seq, message);
    // A new array, never the old one grown in place: views compare it by identity to know it changed.
    if (this.#sorted && (this.#sorted.length === 0 || seq > this.#max)) this.#sorted = [...this.#sorted, message];
    else this.#sorted = null;
    this.#max = Math.max(this.#max, seq);
    if (this.#low === 0 || seq < this.#low) {
      this.#low = seq;
      this.#high = seq - 1;
    }
    if (seq <= this.#high + 1) while (this.#bySeq.has(this.#high + 1)) this.#high++;
    return 'added';
  }

  /** Replaces a held message (an edit, delete or reaction); messages not held are not added. */
  update(message: Message): InsertOutcome {
    return this.#bySeq.has(message.seq) ? this.insert(message) : 'ignored';
  }

  /**
   * Appends a message.delta to held streaming message `seq`: 'applied' (an
   * overlap appends only what is new), or 'gap' when the text starts past the
   * held body or the message is not held streaming (fetch it again).
   */
  appendText(seq: number, offset: number, text: string): 'applied' | 'gap' {
    const held = this.#bySeq.get(seq);
    if (!held || held.streaming !== true || offset > held.body.length) return 'gap';
    const added = offset + text.length > held.body.length ? text.slice(held.body.length - offset) : '';
    if (added) {
      this.#bySeq.set(seq, { ...held, body: held.body + added });
      this.#sorted = null;
    }
    return 'applied';
  }

  /** The first hole above the unbroken run: fetch history with `after` and `before` to fill it. */
  firstGap(): { after: number; before: number } | null {
    if (this.#max <= this.#high) return null;
    let before = this.#high + 2;
    while (!this.#bySeq.has(before)) before++;
    return { after: this.#high, before };
  }

  /** Forgets every message below `seq` (they may be stale); they load again as older history. */
  dropBelow(seq: number): void {
    if (seq <= this.#low) return;
    for (const s of [...this.#bySeq.keys()]) if (s < seq) this.#bySeq.delete(s);
    this.#sorted = null;
    if (this.#bySeq.size === 0) {
      this.#low = this.#high = this.#max = 0;
      return;
    }
    this.#low = Math.min(...this.#bySeq.keys());
    this.#high = this.#low;
    while (this.#bySeq.has(this.#high + 1)) this.#high++;
  }
}

function sameMessage(a: Message, b: Message): boolean {
  return (
    a.changeSeq === b.changeSeq &&
    a.editedAt === b.editedAt &&
    a.deleted === b.deleted &&
    a.body === b.body &&
    JSON.stringify(a.reactions) === JSON.stringify(b.reactions) &&
    // Protocol extensions that change without a changeSeq: a thread root's counters, a reply's quote.
    a.threadReplies === b.threadReplies &&
    JSON.stringify(a.replyTo) === JSON.stringify(b.replyTo)
  );
}
