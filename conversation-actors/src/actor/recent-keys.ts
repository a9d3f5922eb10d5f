/**
 * The seqs of the last N committed messages by (senderId, clientMsgId), so a
 * retry of a recent send is recognised without a store write attempt. Only
 * the seq is kept (the original is read back on the rare hit), so an active
 * actor holds a few KB, not N messages. Older retries still dedupe: the store
 * refuses a stored key (see appendMessages).
 */
export class RecentKeys {
  readonly #map = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  static key(senderId: string, clientMsgId: string): string {
    return `${senderId}\u0000${clientMsgId}`;
  }

  has(senderId: string, clientMsgId: string): boolean {
    return this.#map.has(RecentKeys.key(senderId, clientMsgId));
  }

  add(message: { senderId: string; clientMsgId: string; seq: number }): void {
    this.#map.set(RecentKeys.key(message.senderId, message.clientMsgId), message.seq);
    if (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }
}
