import type { ConversationJson, ErrorCode, ImplementedOp, MessageJson, OpSchemas, UserJson } from '@chat/proto';
import type { input } from 'zod';

/**
 * The protocol's objects, ops and events as TypeScript types, taken from
 * @chat/proto with type-only imports: nothing of zod or the generated code
 * reaches the browser bundle.
 */

export type User = UserJson;
export type Message = MessageJson;
export type Conversation = ConversationJson;
export type Attachment = MessageJson['attachments'][number];
export type Role = 'owner' | 'admin' | 'member';
export type Op = ImplementedOp;

/** What a client may send for `op` (defaults may be left out). */
export type OpArgs<K extends Op> = input<OpSchemas[K]>;

export interface PresenceInfo {
  userId: string;
  online: boolean;
  lastSeen: number;
}

export interface SyncResult {
  conversations: Conversation[];
  messages: Record<string, Message[]>;
  truncated: string[];
  /** Protocol extension (docs/protocol-extensions.md); absent from old servers. */
  updated?: Record<string, Message[]>;
}

/** The `ok: true` reply of each op, without `re` and `ok`. */
export interface OpResults {
  ping: { serverTime: number };
  'user.search': { users: User[] };
  'conversation.open_dm': { conversation: Conversation };
  'conversation.create_group': { conversation: Conversation };
  'conversation.list': { conversations: Conversation[]; next: string | null };
  'conversation.get': { conversation: Conversation };
  'conversation.add_members': { conversation: Conversation };
  'conversation.remove_member': Record<string, never>;
  'conversation.set_role': { conversation: Conversation };
  'conversation.rename': { conversation: Conversation };
  'message.send': { message: Message; duplicate: boolean };
  'message.edit': { message: Message };
  'message.delete': { message: Message };
  'message.react': { message: Message };
  'message.history': { messages: Message[]; hasMore: boolean };
  /** Protocol extension (docs/protocol-extensions.md). */
  'message.stream': { length: number; message: Message | null };
  sync: SyncResult;
  'receipt.mark': { deliveredSeq: number; readSeq: number };
  typing: Record<string, never>;
  'presence.get': { presence: PresenceInfo[] };
}

export interface HelloEvent {
  ev: 'hello';
  user: User;
  sessionId: string;
  heartbeatMs: number;
  serverTime: number;
}

/** Every event of PROTOCOL.md but `hello` (which the connection consumes). */
export type ServerEvent =
  | { ev: 'message.new'; message: Message }
  | { ev: 'message.updated'; message: Message }
  /** Protocol extension (docs/protocol-extensions.md): text appended to a streaming message. */
  | { ev: 'message.delta'; conversationId: string; seq: number; offset: number; text: string }
  | { ev: 'receipt'; conversationId: string; userId: string; deliveredSeq: number; readSeq: number }
  | { ev: 'typing'; conversationId: string; userId: string; active: boolean }
  | ({ ev: 'presence' } & PresenceInfo)
  | { ev: 'conversation.updated'; conversation: Conversation }
  | { ev: 'conversation.removed'; conversationId: string };

/** Failures a request can end with: the server's codes plus the client's own. */
export type RequestErrorCode = ErrorCode | 'timeout' | 'disconnected' | 'offline';

/** A request that did not get an `ok: true` reply. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** Whether sending the same (idempotent) request again later may succeed. */
  get retryable(): boolean {
    return ['timeout', 'disconnected', 'offline', 'unavailable', 'rate_limited'].includes(this.code);
  }
}
