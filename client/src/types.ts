import type {
  AttachmentJson,
  ConversationJson,
  ErrorCode,
  ImplementedOp,
  MessageJson,
  OpResult,
  OpSchemas,
  ServerEventJson,
  UserJson,
  presenceJsonSchema,
} from '@chat/proto';
import type { input, output } from 'zod';

/**
 * The protocol's objects, ops, results and events as TypeScript types, all
 * taken from the schemas in @chat/proto (frames.ts for requests, replies.ts
 * for what the server sends) with type-only imports: nothing of zod or the
 * generated code reaches a browser bundle.
 */

export type User = UserJson;
export type Message = MessageJson;
export type Conversation = ConversationJson;
export type Attachment = AttachmentJson;
export type Role = 'owner' | 'admin' | 'member';
export type Op = ImplementedOp;
export type PresenceInfo = output<typeof presenceJsonSchema>;

/** What a client may send for `op` (defaults may be left out). */
export type OpArgs<K extends Op> = input<OpSchemas[K]>;

/** The `ok: true` reply of each op, without `re` and `ok`. */
export type OpResults = { [K in Op]: OpResult<K> };

export type SyncResult = OpResults['sync'];

/** The first frame of every session. */
export type HelloEvent = Extract<ServerEventJson, { ev: 'hello' }>;

/** Every event of the protocol but `hello` (which the connection consumes). */
export type ServerEvent = Exclude<ServerEventJson, { ev: 'hello' }>;

/** A reply frame as it arrives: `ok: true` with the op's result, or `ok: false` with an error. */
export interface ReplyFrame {
  re: string;
  ok: boolean;
  error?: { code: string; message: string; retryAfterMs?: number; noRetry?: boolean };
  [key: string]: unknown;
}

/** An event frame as it arrives. */
export interface EventFrame {
  ev: string;
  [key: string]: unknown;
}

/** Failures a request can end with: the server's codes plus the client's own. */
export type RequestErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'offline';

/** A request that did not get an `ok: true` reply. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    readonly retryAfterMs?: number,
    /** The server said resending cannot help now (an `unavailable` from a store that cannot write). */
    readonly noRetry = false,
  ) {
    super(message);
  }

  /** Whether sending the same (idempotent) request again later may succeed. */
  get retryable(): boolean {
    return !this.noRetry && ['timeout', 'disconnected', 'offline', 'unavailable', 'rate_limited'].includes(this.code);
  }
}
