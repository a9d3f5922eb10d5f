import type { Metadata, ServerReadableStream, sendUnaryData } from '@grpc/grpc-js';
import { type MessageReply, type OpSchemas, type StreamMessageRequest, describeZodError } from '@chat/proto';
import { type Logger, SpanKind, contextOf, endSpan, startRootSpan, tracingEnabled } from '@chat/platform';
import type { AuthenticatedUser } from '../auth/token-authority.js';
import { DrainingError, InvalidRequestError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import { MessageStreamer } from '../ops/message-streamer.js';
import type { OpHandlers, RequestContext } from '../ops/op-handlers.js';
import type { AuthenticatedCall } from './call-authenticator.js';
import { messageFromJson } from './proto-objects.js';
import { toServiceError } from './status-codes.js';

export interface StreamMessageDeps {
  handlers: OpHandlers;
  schemas: OpSchemas;
  logger: Logger;
  metrics: GatewayMetrics;
  authenticate(metadata: Metadata): Promise<AuthenticatedCall>;
  /** Takes `cost` from the user's rate budget: 0, or the ms until it is there (see UserBudgets.take). */
  take(userId: string, cost: number): number;
  /** The caller's context (their lanes on this gateway, shared with their unary calls). */
  context(user: AuthenticatedUser, receivedAt: number): RequestContext;
  draining(): boolean;
  inFlight(delta: 1 | -1): void;
}

/**
 * One StreamMessage call: `start{conversation_id, client_msg_id}`, then
 * deltas, then `end{}`. The deltas go to a MessageStreamer (the first
 * allocates the message, the rest grow it, one call at a time, whatever
 * arrives meanwhile batched into the next), so members watch the message grow
 * while the caller writes. `end` answers the final message. A call that
 * breaks (cancelled, or half-closed without `end`) or whose token is revoked
 * finishes the message with what arrived, `truncated`.
 */
export function serveStreamMessage(call: ServerReadableStream<StreamMessageRequest, MessageReply>, callback: sendUnaryData<MessageReply>, d: StreamMessageDeps): void {
  const receivedAt = performance.timeOrigin + performance.now();
  const op = 'StreamMessage';
  let answered = false;
  /** end{} arrived: the message is being finished. */
  let ending = false;
  let streamer: MessageStreamer | undefined;
  let watching: { stop(): void } | undefined;
  const early: StreamMessageRequest[] = [];
  let ctx: RequestContext | undefined;
  // The whole call is one trace: every append it makes is a bus request under this span.
  const span = tracingEnabled() ? startRootSpan(`chat ${op}`, { kind: SpanKind.SERVER, startTime: receivedAt, attributes: { 'chat.op': op, 'chat.transport': 'grpc', 'rpc.system': 'grpc' } }) : undefined;

  const answer = (err: unknown, reply?: MessageReply) => {
    if (answered) return;
    answered = true;
    watching?.stop();
    d.inFlight(-1);
    if (span) endSpan(span, err ?? undefined);
    if (err) {
      const error = toServiceError(err, d.logger, op);
      d.metrics.requests.inc({ op, outcome: String(error.metadata?.get('chat-error-code')[0] ?? 'internal') });
      callback(error);
    } else {
      d.metrics.requests.inc({ op, outcome: 'ok' });
      callback(null, reply);
    }
  };
  /** The call broke: finish the message with what arrived (if it was started at all). */
  const abandon = (err: unknown) => {
    const s = streamer;
    if (s && s.seq !== undefined) s.end(true).catch((e: unknown) => d.logger.warn({ err: e, conversationId: s.conversationId }, 'could not finish an abandoned stream'));
    answer(err);
  };
  const finish = () => {
    ending = true;
    const s = streamer!;
    s.end(false).then(
      (message) => answer(null, { message: messageFromJson(message), duplicate: false }),
      (err: unknown) => answer(err),
    );
  };
  const onRequest = (req: StreamMessageRequest) => {
    if (answered) return;
    const kind = req.kind;
    if (!streamer) {
      if (kind?.$case !== 'start') return abandon(new InvalidRequestError('the first StreamMessage request must be start{conversation_id, client_msg_id}'));
      const { conversationId, clientMsgId } = kind.value;
      const parsed = d.schemas['message.send'].safeParse({ conversationId, clientMsgId, body: '', streaming: true });
      if (!parsed.success) return abandon(new InvalidRequestError(`invalid StreamMessage start: ${describeZodError(parsed.error)}`));
      // Each call to the actor costs one token of the caller's budget; over it, deltas wait and go together.
      const userId = ctx!.user.id;
      streamer = new MessageStreamer(d.handlers, ctx!, conversationId, clientMsgId, (err) => abandon(err), () => d.take(userId, 1));
      return;
    }
    if (kind?.$case === 'delta') {
      // A failed call (not a member, the message ended meanwhile) answers the call at once (onFailure).
      streamer.append(kind.value.text);
    } else if (kind?.$case === 'end') finish();
    else abandon(new InvalidRequestError('start may come only once, first'));
  };

  call.on('error', () => {}); // a client gone; 'cancelled' handles it
  if (d.draining()) {
    span?.end();
    return callback(toServiceError(new DrainingError(), d.logger, op));
  }
  d.inFlight(1);
  call.on('data', (req: StreamMessageRequest) => (ctx ? onRequest(req) : early.push(req)));
  call.on('end', () => {
    if (ctx && !answered && !ending) abandon(new InvalidRequestError('the stream ended without end{}; the message was finished with what arrived (truncated)'));
  });
  call.on('cancelled', () => abandon(new InvalidRequestError('cancelled')));
  d.authenticate(call.metadata).then(
    (caller) => {
      if (answered) return;
      ctx = d.context(caller.user, receivedAt);
      if (span) ctx.trace = contextOf(span);
      watching = caller.watch((err) => abandon(err));
      for (const req of early.splice(0)) onRequest(req);
      // Half-closed before we were ready to read.
      if (!answered && !ending && call.readableEnded) abandon(new InvalidRequestError('the stream ended without end{}'));
    },
    (err: unknown) => answer(err),
  );
}
