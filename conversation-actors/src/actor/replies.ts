import type { Context, Span } from '@chat/platform';
import type { ActorReply, ActorRequest, ChatMessage } from '@chat/proto';

/** A request waiting in an actor's mailbox, with the resolver of its reply promise. */
export interface Task {
  req: ActorRequest;
  enqueuedAt: number;
  resolve(reply: ActorReply): void;
  /** Queued by the actor itself (a stream's persist or idle end): no lane, no membership check. */
  internal?: true;
  /** Set only when tracing is on and the request carried a trace. */
  trace?: TaskTrace | undefined;
}

/** A traced request's spans: its handling (`ctx` holds it) and its wait in the mailbox. */
export interface TaskTrace {
  readonly span: Span;
  readonly ctx: Context;
  wait?: Span | undefined;
}

/** The reply to a send: the stored message, and whether it was stored before (a retry). */
export function sendReply(message: ChatMessage, duplicate: boolean): ActorReply {
  return { result: { $case: 'send', value: { message, duplicate } } };
}

/**
 * A failure reply with a protocol error code. `noRetry`: resending cannot help
 * now (the store cannot write), so the gateway answers its client at once.
 */
export function failure(code: string, message: string, noRetry?: boolean): ActorReply {
  return { result: { $case: 'failure', value: { code, message, retryAfterMs: undefined, noRetry: noRetry || undefined } } };
}
