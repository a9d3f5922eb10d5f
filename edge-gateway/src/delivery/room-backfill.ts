import type { ChatMessage, Event } from '@chat/proto';
import type { Logger } from '@chat/platform';

/** Most messages one backfill reads; the gap it closes is a bus round trip long. */
export const BACKFILL_LIMIT = 100;

export interface RoomBackfillOptions {
  /** Messages of the conversation after `afterSeq`, oldest first, read as `userId` (a member). */
  read(conversationId: string, userId: string, afterSeq: number): Promise<ChatMessage[]>;
  /** Delivers one event to the room's local members. */
  deliver(conversationId: string, event: Event): void;
  logger: Logger;
}

/**
 * Closes the gap of a room opened by a join. A member added to a conversation
 * hears of it on their user subject (conversation.updated); if no one else
 * here was a member, the gateway only then subscribes to the conversation's
 * events, and whatever its actor published before the subscription reached
 * the bus would be lost. So the room's live events are held while the
 * messages after the joiner's view (its lastSeq) are read back, then both go
 * out in seq order, each message once: the read ones first, then the held
 * ones newer than what the read returned.
 *
 * Only message.new is recovered; an edit, receipt or typing event inside the
 * same window (about one bus round trip) is not, and the client sees it on
 * its next sync.
 */
export class RoomBackfill {
  readonly #held = new Map<string, Event[]>();

  constructor(private readonly o: RoomBackfillOptions) {}

  /** Holds `event` if its room is being backfilled; false if the caller should deliver it now. */
  hold(conversationId: string, event: Event): boolean {
    const held = this.#held.get(conversationId);
    if (!held) return false;
    held.push(event);
    return true;
  }

  /** Starts the room's backfill after `afterSeq`, unless one is running (it covers this join too). */
  start(conversationId: string, userId: string, afterSeq: number): void {
    if (this.#held.has(conversationId)) return;
    this.#held.set(conversationId, []);
    this.o.read(conversationId, userId, afterSeq).then(
      (messages) => this.#release(conversationId, messages.filter((m) => m.seq > afterSeq)),
      (err: unknown) => {
        this.o.logger.warn({ err, conversationId, userId, afterSeq }, 'could not read back messages of a joined conversation; the client catches up on sync');
        this.#release(conversationId, []);
      },
    );
  }

  #release(conversationId: string, messages: ChatMessage[]): void {
    const held = this.#held.get(conversationId) ?? [];
    this.#held.delete(conversationId);
    let newest = 0;
    for (const message of messages) {
      newest = Math.max(newest, message.seq);
      this.o.deliver(conversationId, { originReceivedAt: 0, kind: { $case: 'messageNew', value: message } });
    }
    for (const event of held) {
      if (event.kind?.$case === 'messageNew' && event.kind.value.seq <= newest) continue;
      this.o.deliver(conversationId, event);
    }
  }
}
