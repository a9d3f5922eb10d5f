import { randomUUID } from 'node:crypto';
import type { SessionRef } from '@chat/proto';
import type { SessionReporter } from '../presence/session-reporter.js';
import type { SessionRegistry } from '../session/session-registry.js';
import type { EventDelivery } from './event-delivery.js';
import type { EventSink, EventSinks } from './event-sinks.js';

export interface SinkRegistrationsOptions {
  /** The gateway's sinks: shared with whoever decides, with `sessions`, whether a user's events are followed. */
  sinks: EventSinks;
  sessions: SessionRegistry;
  delivery: EventDelivery;
  presence: SessionReporter;
}

/** What registering a sink gives back (see SinkRegistrations.register). */
export interface SinkRegistration {
  /** Resolves once every event published after it reaches the sink (the user's conversations are followed). */
  ready: Promise<void>;
  /** Stops delivering to the sink; idempotent. */
  unregister(): void;
}

/**
 * Registers event sinks (gRPC WatchEvents streams) with the gateway: a sink
 * gets its user's events as their sessions do, the user's events are
 * followed while they have a session or a sink here, and each sink is a
 * presence session of its user (a bot watching is online).
 */
export class SinkRegistrations {
  /** The presence session each sink stands for. */
  readonly #presenceSessions = new Map<EventSink, SessionRef>();

  constructor(private readonly o: SinkRegistrationsOptions) {}

  /**
   * Delivers `userId`'s events to `sink` as to their sessions. `ready`
   * resolves once every event published after it reaches the sink (the
   * user's conversations are followed); `unregister` stops it.
   */
  register(userId: string, sink: EventSink): SinkRegistration {
    if (this.o.sinks.add(userId, sink) && !this.o.sessions.has(userId)) this.o.delivery.watch(userId);
    const presence = { userId, sessionId: `watch-${randomUUID()}` };
    this.#presenceSessions.set(sink, presence);
    this.o.presence.up(presence);
    let registered = true;
    return {
      ready: this.o.delivery.ready(userId),
      unregister: () => {
        if (!registered) return;
        registered = false;
        this.#presenceSessions.delete(sink);
        this.o.presence.down(presence);
        if (this.o.sinks.remove(userId, sink) && !this.o.sessions.has(userId)) this.o.delivery.unwatch(userId);
      },
    };
  }

  /** The presence sessions of the registered sinks, one per sink, for the heartbeat. */
  presenceSessions(): Iterable<SessionRef> {
    return this.#presenceSessions.values();
  }
}
