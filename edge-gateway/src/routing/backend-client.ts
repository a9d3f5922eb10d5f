import { ActorReply, ActorRequest, type Failure, QUERY_SUBJECT, QueryReply, QueryRequest, shardOf, shardSubject, toErrorCode } from '@chat/proto';
import {
  type Bus,
  type BusHeaders,
  type BusMessage,
  type BusPayload,
  type Context,
  BusClosedError,
  BusNoRespondersError,
  BusTimeoutError,
  PlatformError,
  SpanKind,
  contextOf,
  decodeBody,
  encoded,
  endSpan,
  startSpan,
  traceHeaders,
  tracingEnabled,
} from '@chat/platform';
import { BackendUnavailableError, RemoteError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { type Lane, type RetryPolicy, isRetryable } from './lane.js';

type Success<R extends { result?: { $case: string } | undefined }> = Exclude<NonNullable<R['result']>, { $case: 'failure' }>;
export type ActorSuccess = Success<ActorReply>;

/**
 * The gateway's side of the bus contracts: actor requests routed to their
 * conversation's shard, queries to the query service. Failures surface as
 * RemoteError (the backend answered with an error code) or
 * BackendUnavailableError (it could not be reached). Requests that found no
 * owner are retried with backoff within the retry budget; actor requests go
 * through their session's lane so retries never reorder a session's requests.
 */
export class BackendClient {
  constructor(
    private readonly bus: Bus,
    private readonly shardCount: number,
    private readonly timeoutMs: number,
    private readonly retry: RetryPolicy,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * Sends `req` to the actor of its conversation through `lane` (the
   * session's lane for that conversation), or directly if there is none.
   * Synchronous up to the publish, so a session's requests leave in order.
   * With `trace` (the request's span, tracing on) each attempt is a client
   * span under it whose traceparent rides in the bus headers.
   */
  actor(req: ActorRequest, lane: Lane<ActorSuccess> | undefined, idempotent: boolean, headers?: BusHeaders, trace?: Context): Promise<ActorSuccess> {
    const subject = shardSubject(shardOf(req.conversationId, this.shardCount));
    const attempt = async (laneSeq: number, laneAfter: number) => {
      try {
        const reply = await this.#request('actor', subject, encoded(ActorRequest, { ...req, laneSeq, laneAfter }), headers, trace, req.op?.$case);
        return unwrap(decodeBody(reply, ActorReply).result);
      } catch (err) {
        throw this.#counted('actor', idempotent, err);
      }
    };
    if (lane) return lane.submit(attempt, idempotent);
    return this.#withRetry(() => attempt(0, 0), idempotent);
  }

  /**
   * Sends a query (all queries are idempotent reads or upserts, so every
   * failure that may be retried is), retrying for `budgetMs` (default: the
   * client's retry budget).
   */
  query(req: QueryRequest, options: { headers?: BusHeaders; budgetMs?: number; trace?: Context | undefined } = {}): Promise<Success<QueryReply>> {
    const body = encoded(QueryRequest, req);
    const attempt = async () => {
      try {
        return unwrap(decodeBody(await this.#request('query', QUERY_SUBJECT, body, options.headers, options.trace, req.op?.$case), QueryReply).result);
      } catch (err) {
        throw this.#counted('query', true, err);
      }
    };
    return this.#withRetry(attempt, true, options.budgetMs);
  }

  /** Counts an attempt's failure that the lane or #withRetry will retry (unless its budget is spent); returns it to rethrow. */
  #counted(target: 'actor' | 'query', idempotent: boolean, err: unknown): unknown {
    if (isRetryable(err, idempotent)) this.metrics.retries.inc({ target, reason: err instanceof BackendUnavailableError ? err.reason : 'unavailable' });
    return err;
  }

  async #withRetry<T>(attempt: () => Promise<T>, idempotent: boolean, budgetMs = this.retry.budgetMs): Promise<T> {
    const deadline = performance.now() + budgetMs;
    for (let failures = 0; ; failures++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isRetryable(err, idempotent) || performance.now() >= deadline) throw err;
        const delay = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** failures);
        await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random() / 2)));
      }
    }
  }

  async #request(target: string, subject: string, data: BusPayload, headers: BusHeaders | undefined, trace?: Context, op?: string): Promise<BusMessage> {
    const started = performance.now();
    const span = trace && tracingEnabled() ? startSpan(`${target} request`, { kind: SpanKind.CLIENT, parent: trace, attributes: { 'messaging.destination.name': subject, 'chat.op': op ?? '' } }) : undefined;
    if (span) headers = traceHeaders(contextOf(span, trace), headers);
    let failed: unknown;
    try {
      return await this.bus.request(subject, data, { timeoutMs: this.timeoutMs, headers });
    } catch (err) {
      failed = err;
      if (err instanceof BusNoRespondersError) throw new BackendUnavailableError('no_responders', `no ${target} serves this now; retry`, { cause: err });
      if (err instanceof BusTimeoutError) throw new BackendUnavailableError('timeout', `no answer from the ${target} within ${this.timeoutMs} ms`, { cause: err });
      if (err instanceof BusClosedError) throw new BackendUnavailableError('disconnected', 'the gateway is not connected to the bus; retry', { cause: err });
      if (err instanceof PlatformError) throw new RemoteError(err.code, err.message);
      throw err;
    } finally {
      this.metrics.busRequest.observe({ target }, (performance.now() - started) / 1000);
      if (span) endSpan(span, failed);
    }
  }
}

function unwrap<T extends { $case: string }>(result: T | { $case: 'failure'; value: Failure } | undefined): Exclude<T, { $case: 'failure' }> {
  if (!result) throw new RemoteError('internal', 'empty reply from backend');
  if (result.$case === 'failure') {
    const f = (result as { value: Failure }).value;
    throw new RemoteError(toErrorCode(f.code), f.message, f.retryAfterMs, f.noRetry === true);
  }
  return result as Exclude<T, { $case: 'failure' }>;
}
