import { ID_PATTERN, SessionChange, TypingChange } from '@chat/proto';
import type { BusMessage } from '@chat/platform';
import type { PresenceBackend, SessionRef, TypingRef } from './presence-backend.js';
import type { PresenceMetrics } from './presence-metrics.js';
import type { BackendCalls } from './backend-calls.js';
import type { PresenceAnnouncer } from './presence-announcer.js';
import type { ThrottledLog } from './throttled-log.js';

/** How one update ended, as counted in chat_presence_updates_total{outcome} (with `dropped`, counted by the queue). */
export type UpdateOutcome = 'ok' | 'invalid' | 'error';
type UpdateKind = NonNullable<SessionChange['kind']>['$case'];

export interface PresenceUpdatesOptions {
  backend: PresenceBackend;
  calls: BackendCalls;
  announce: PresenceAnnouncer;
  metrics: PresenceMetrics;
  log: ThrottledLog;
  /**
   * Queues a valid update to be applied after those before it; `apply` gets
   * the update's time (the gateway's `reportedAt`, clamped) and its outcome
   * is counted under `kind`.
   */
  enqueue: (kind: string, reportedAt: number, apply: (at: number) => Promise<UpdateOutcome>) => void;
}

/**
 * The updates gateways publish: SessionChange (session up, session down,
 * heartbeat) and TypingChange. Decodes and checks each (an undecodable or
 * invalid one is counted and logged, never applied), then applies it to the
 * backend and announces the transitions the backend reports: a user online
 * or offline, typing started or stopped, and the typing leases a session's
 * down ended.
 */
export class PresenceUpdates {
  constructor(private readonly o: PresenceUpdatesOptions) {}

  /** A message on PRESENCE_SESSIONS_SUBJECT. */
  sessionChange(msg: BusMessage): void {
    let change: SessionChange;
    try {
      change = SessionChange.decode(msg.data);
    } catch (err) {
      this.o.metrics.updates.inc({ kind: 'unknown', outcome: 'invalid' });
      this.o.log.log('invalid', 'warn', { err }, 'undecodable session change');
      return;
    }
    const { gatewayId, kind } = change;
    if (!gatewayId || !kind) {
      this.o.metrics.updates.inc({ kind: kind?.$case ?? 'unknown', outcome: 'invalid' });
      this.o.log.log('invalid', 'warn', { gatewayId, kind: kind?.$case }, 'session change without a gateway id or a kind');
      return;
    }
    this.o.enqueue(kind.$case, change.at, (at) => this.#apply(gatewayId, kind, at));
  }

  /** A message on PRESENCE_TYPING_SUBJECT. */
  typingChange(msg: BusMessage): void {
    let change: TypingChange;
    try {
      change = TypingChange.decode(msg.data);
    } catch (err) {
      this.o.metrics.updates.inc({ kind: 'unknown', outcome: 'invalid' });
      this.o.log.log('invalid', 'warn', { err }, 'undecodable typing change');
      return;
    }
    const kind = change.active ? 'typing_start' : 'typing_stop';
    const ref: TypingRef = { conversationId: change.conversationId, userId: change.userId, sessionId: change.sessionId };
    // The conversation id goes into a subject when the lease is announced: only a valid one.
    if (!validRef(ref) || !ID_PATTERN.test(ref.conversationId)) {
      this.o.metrics.updates.inc({ kind, outcome: 'invalid' });
      this.o.log.log('invalid', 'warn', { userId: ref.userId, conversationId: ref.conversationId }, 'typing change with an invalid id');
      return;
    }
    this.o.enqueue(kind, change.at, (at) => this.#applyTyping(ref, change.active, at));
  }

  /**
   * Applies one typing change and relays it. With the backend down it is
   * relayed all the same (typing must not depend on presence's store): the
   * other members' clients then end a start on their own timeout.
   */
  async #applyTyping(ref: TypingRef, active: boolean, at: number): Promise<UpdateOutcome> {
    const { backend, calls, announce } = this.o;
    if (!active) {
      const stopped = await calls.call('typingStop', () => backend.typingStop(ref, at));
      announce.typing(ref, false);
      return stopped ? 'ok' : 'error';
    }
    const result = await calls.call('typingStart', () => backend.typingStart(ref, at));
    // Stale (a later stop came first) or its session is gone: the members must not see it start.
    if (result?.outcome !== 'stale' && result?.outcome !== 'sessionEnded') announce.typing(ref, true);
    return result ? 'ok' : 'error';
  }

  /** Applies one update and publishes the transitions it caused. */
  async #apply(gatewayId: string, kind: NonNullable<SessionChange['kind']>, at: number): Promise<UpdateOutcome> {
    const { backend, calls, announce } = this.o;
    switch (kind.$case) {
      case 'up': {
        const { userId, sessionId } = kind.value;
        if (!validRef(kind.value)) return this.#invalidRef(gatewayId, kind.$case, kind.value);
        const result = await calls.call('sessionUp', () => backend.sessionUp(userId, sessionId, gatewayId, at));
        if (!result) return 'error';
        if (result.cameOnline) announce.change(userId, true, undefined);
        return 'ok';
      }
      case 'down': {
        const { userId, sessionId } = kind.value;
        if (!validRef(kind.value)) return this.#invalidRef(gatewayId, kind.$case, kind.value);
        const result = await calls.call('sessionDown', () => backend.sessionDown(userId, sessionId, at));
        if (result?.wentOffline) announce.change(userId, false, result.lastSeen);
        // The session's typing ends with it (tried even if the down failed: these are separate leases).
        const typing = await calls.call('endSessionTyping', () => backend.endSessionTyping(userId, sessionId));
        announce.typingEnded(typing ?? [], 'disconnected');
        return result && typing ? 'ok' : 'error';
      }
      case 'heartbeat': {
        const sessions: SessionRef[] = kind.value.sessions.filter(validRef);
        if (sessions.length < kind.value.sessions.length) {
          const invalid = kind.value.sessions.length - sessions.length;
          this.o.log.log('invalid', 'warn', { gatewayId, invalid }, 'heartbeat with invalid sessions: ignoring those');
        }
        const result = await calls.call('heartbeat', () => backend.heartbeat(gatewayId, sessions, at));
        if (!result) return 'error';
        for (const userId of result.cameOnline) announce.change(userId, true, undefined);
        return 'ok';
      }
    }
  }

  #invalidRef(gatewayId: string, kind: UpdateKind, ref: SessionRef): 'invalid' {
    this.o.log.log('invalid', 'warn', { gatewayId, kind, userId: ref.userId }, 'session update with an invalid user or session id');
    return 'invalid';
  }
}

/** A session reference safe to store: a user id that may enter a subject, a non-empty session id. */
function validRef(ref: SessionRef): boolean {
  return ID_PATTERN.test(ref.userId) && ref.sessionId.length > 0 && ref.sessionId.length <= 256;
}
