import { PresenceQuery, PresenceReply } from '@chat/proto';
import { type BusMessage, type Logger, SpanKind, contextFromHeaders, endSpan, startSpan } from '@chat/platform';
import type { PresenceBackend } from './presence-backend.js';
import type { PresenceMetrics } from './presence-metrics.js';
import type { BackendCalls } from './backend-calls.js';

/**
 * Answers PresenceQuery requests (PRESENCE_QUERY_SUBJECT) from the backend:
 * every query gets a reply, a Failure `bad_request` for an undecodable one
 * and `unavailable` while the backend fails or is being rebuilt; and keeps
 * count of the queries in flight so that stopping can wait for their replies.
 */
export class PresenceQueries {
  #inFlight = 0;
  #idle: (() => void)[] = [];

  constructor(private readonly o: { backend: PresenceBackend; calls: BackendCalls; metrics: PresenceMetrics; logger: Logger }) {}

  /** Resolves once no query is in flight (at once if none is). */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Answers one query message. */
  answer(msg: BusMessage): void {
    this.#inFlight++;
    // Tracing on and the query traced (presence.get): a server span under the gateway's request.
    const parent = contextFromHeaders(msg.headers);
    const span = parent && startSpan('presence get', { kind: SpanKind.SERVER, parent });
    const done = (reply: PresenceReply) => {
      const outcome = reply.result?.$case === 'failure' ? reply.result.value.code : 'ok';
      if (span) endSpan(span, outcome === 'ok' ? undefined : outcome);
      this.o.metrics.queries.inc({ outcome });
      try {
        msg.respond(PresenceReply.encode(reply).finish());
      } catch (err) {
        this.o.logger.warn({ err }, 'cannot answer a presence query');
      }
      if (--this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    };
    let query: PresenceQuery;
    try {
      query = PresenceQuery.decode(msg.data);
    } catch (err) {
      this.o.logger.warn({ err }, 'undecodable presence query');
      done(failure('bad_request', 'undecodable presence query'));
      return;
    }
    this.o.calls.call('get', () => this.o.backend.get(query.userIds)).then(
      (list) =>
        done(
          list
            ? { result: { $case: 'presence', value: { presence: list.map((p) => ({ userId: p.userId, online: p.online, lastSeen: p.lastSeen ?? undefined })) } } }
            : failure('unavailable', 'presence is unavailable'),
        ),
      (err: unknown) => done(failure('unavailable', err instanceof Error ? err.message : 'presence is unavailable')),
    );
  }
}

function failure(code: string, message: string): PresenceReply {
  return { result: { $case: 'failure', value: { code, message, retryAfterMs: undefined } } };
}
