import { PRESENCE_QUERY_SUBJECT, PresenceQuery, PresenceReply, toErrorCode } from '@chat/proto';
import { type Bus, type Context, BusClosedError, BusNoRespondersError, BusTimeoutError, PlatformError, SpanKind, contextOf, endSpan, startSpan, traceHeaders, tracingEnabled } from '@chat/platform';
import { BackendUnavailableError, RemoteError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';

/** A user's presence as the protocol shows it (`presence.get`, `presence` events). */
export interface PresenceJson {
  userId: string;
  online: boolean;
  /** When the user's last session ended; null while online or if never seen. */
  lastSeen: number | null;
}

/**
 * Asks the presence service (any instance, queue group) for users' presence
 * over PRESENCE_QUERY_SUBJECT. One attempt, no retry: presence is advisory
 * and `presence.get` is safe for the client to repeat. Failures surface as
 * BackendUnavailableError (unreachable, no answer) or RemoteError (the
 * service answered with an error code, e.g. its backend is down).
 */
export class PresenceClient {
  constructor(
    private readonly bus: Bus,
    private readonly timeoutMs: number,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The presence of each of `userIds`, in the order asked; with `trace` (tracing on) the request is a client span under it. */
  async get(userIds: readonly string[], trace?: Context): Promise<PresenceJson[]> {
    if (userIds.length === 0) return [];
    const started = performance.now();
    const span = trace && tracingEnabled() ? startSpan('presence request', { kind: SpanKind.CLIENT, parent: trace, attributes: { 'messaging.destination.name': PRESENCE_QUERY_SUBJECT } }) : undefined;
    let failed: unknown;
    let data: Uint8Array;
    try {
      const headers = span && traceHeaders(contextOf(span, trace));
      const msg = await this.bus.request(PRESENCE_QUERY_SUBJECT, PresenceQuery.encode({ userIds: [...userIds] }).finish(), { timeoutMs: this.timeoutMs, headers });
      data = msg.data;
    } catch (err) {
      failed = err;
      if (err instanceof BusNoRespondersError) throw new BackendUnavailableError('no_responders', 'the presence service is not running; retry', { cause: err });
      if (err instanceof BusTimeoutError) throw new BackendUnavailableError('timeout', `no answer from presence within ${this.timeoutMs} ms`, { cause: err });
      if (err instanceof BusClosedError) throw new BackendUnavailableError('disconnected', 'the gateway is not connected to the bus; retry', { cause: err });
      if (err instanceof PlatformError) throw new RemoteError(err.code, err.message);
      throw err;
    } finally {
      this.metrics.busRequest.observe({ target: 'presence' }, (performance.now() - started) / 1000);
      if (span) endSpan(span, failed);
    }
    const result = PresenceReply.decode(data).result;
    if (!result) throw new RemoteError('internal', 'empty reply from presence');
    if (result.$case === 'failure') throw new RemoteError(toErrorCode(result.value.code), result.value.message, result.value.retryAfterMs);
    return result.value.presence.map((p) => ({
      userId: p.userId,
      online: p.online,
      lastSeen: p.online ? null : (p.lastSeen ?? null),
    }));
  }
}
