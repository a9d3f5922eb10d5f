import { Event, userEventsSubject } from '@chat/proto';
import type { Bus, BusMessage, Logger, Subscription } from '@chat/platform';
import type { SessionRegistry } from '../session/session-registry.js';
import type { Outbox } from '../session/outbox.js';
import { eventToFrame } from './event-frames.js';

/** Recently rendered message.new frames kept for reuse (a few per busy conversation). */
const RECENT_FRAMES = 256;

/**
 * Delivers bus events to this gateway's sessions. One subscription per
 * connected user; each event is decoded and serialized once and the same
 * frame is written to every session of that user.
 */
export class EventDelivery {
  readonly #subs = new Map<string, Subscription>();
  readonly #recentFrames = new Map<string, string>();
  /** The last message.updated rendered, by its bus bytes (see #frameOf). */
  #lastUpdated: { data: Uint8Array; frame: string } | undefined;
  #sessions: SessionRegistry | undefined;

  constructor(
    private readonly bus: Bus,
    private readonly outbox: Outbox,
    private readonly logger: Logger,
  ) {}

  attach(sessions: SessionRegistry): void {
    this.#sessions = sessions;
  }

  /** Starts delivering `userId`'s events. */
  watch(userId: string): void {
    if (this.#subs.has(userId)) return;
    this.#subs.set(userId, this.bus.subscribe(userEventsSubject(userId), (msg) => this.#deliver(userId, msg)));
  }

  unwatch(userId: string): void {
    this.#subs.get(userId)?.unsubscribe();
    this.#subs.delete(userId);
  }

  stop(): void {
    for (const sub of this.#subs.values()) sub.unsubscribe();
    this.#subs.clear();
  }

  /**
   * A group's new message reaches this gateway once per local member (one bus
   * message per member subject): render its frame once and reuse the string.
   * Only message.new is shared; other events may differ per recipient.
   */
  #frameOf(event: Event, data: Uint8Array): string | null {
    const kind = event.kind;
    // A receipt, like message.updated, goes to every member subject back to back.
    if (kind?.$case === 'messageUpdated' || kind?.$case === 'receipt') return this.#updatedFrame(event, data);
    if (kind?.$case !== 'messageNew') return eventToFrame(event);
    const key = `${kind.value.conversationId}\u0000${kind.value.seq}`;
    let frame = this.#recentFrames.get(key);
    if (frame === undefined) {
      frame = eventToFrame(event)!;
      this.#recentFrames.set(key, frame);
      if (this.#recentFrames.size > RECENT_FRAMES) this.#recentFrames.delete(this.#recentFrames.keys().next().value!);
    }
    return frame;
  }

  /**
   * message.updated has no stable key (one seq is updated many times), but an
   * actor publishes the same bytes to every member subject back to back: the
   * bytes of the last one rendered identify a repeat.
   */
  #updatedFrame(event: Event, data: Uint8Array): string | null {
    const last = this.#lastUpdated;
    if (last && Buffer.compare(last.data, data) === 0) return last.frame;
    const frame = eventToFrame(event);
    if (frame !== null) this.#lastUpdated = { data: Uint8Array.prototype.slice.call(data), frame };
    return frame;
  }

  #deliver(userId: string, msg: BusMessage): void {
    const sessions = this.#sessions?.sessionsOf(userId);
    if (!sessions || sessions.size === 0) return;
    let event: Event;
    try {
      event = Event.decode(msg.data);
    } catch (err) {
      this.logger.warn({ err, subject: msg.subject }, 'undecodable event');
      return;
    }
    const frame = this.#frameOf(event, msg.data);
    if (frame === null) return;
    for (const session of sessions) this.outbox.send(session, frame, event.originReceivedAt);
  }
}
