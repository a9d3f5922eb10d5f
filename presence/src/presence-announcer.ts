import { PRESENCE_CHANGES_SUBJECT, UserPresence as UserPresenceMessage } from '@chat/proto';
import type { Bus, Logger } from '@chat/platform';
import type { TypingRef } from './presence-backend.js';
import type { PresenceMetrics } from './presence-metrics.js';
import type { ThrottledLog } from './throttled-log.js';
import { publishTyping } from './typing-events.js';

/**
 * What the presence service publishes: a UserPresence on
 * PRESENCE_CHANGES_SUBJECT per transition, and `typing` events on the
 * conversations' subjects. Fire and forget: a publish that fails is logged,
 * never thrown, so it cannot stop the update that caused it.
 */
export class PresenceAnnouncer {
  constructor(private readonly o: { bus: Bus; logger: Logger; log: ThrottledLog; metrics: PresenceMetrics }) {}

  /** A user came online (`lastSeen` undefined) or went offline. */
  change(userId: string, online: boolean, lastSeen: number | undefined): void {
    try {
      this.o.bus.publish(PRESENCE_CHANGES_SUBJECT, UserPresenceMessage.encode({ userId, online, lastSeen }).finish());
    } catch (err) {
      this.o.logger.warn({ err, userId, online }, 'cannot publish a presence change');
    }
  }

  /** Publishes `typing` active: false for each lease the service ended on its own. */
  typingEnded(refs: readonly TypingRef[], reason: 'expired' | 'disconnected'): void {
    for (const ref of refs) {
      this.o.metrics.typingEnded.inc({ reason });
      this.typing(ref, false);
    }
  }

  /** Relays a member's typing to the conversation's members. */
  typing(ref: TypingRef, active: boolean): void {
    try {
      publishTyping(this.o.bus, { conversationId: ref.conversationId, userId: ref.userId, active });
    } catch (err) {
      this.o.log.log('typing-relay', 'warn', { err, conversationId: ref.conversationId, userId: ref.userId }, 'cannot relay typing');
    }
  }
}
