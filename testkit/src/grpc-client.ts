import { type ChannelCredentials, type ChannelOptions, Client as GenericClient, Metadata, type ServiceError, credentials, status } from '@grpc/grpc-js';
import { afterAll } from 'vitest';
import { type ChatMessage, ChatApiClient, type WatchEventsRequest, type WatchEventsResponse } from '@chat/proto';

/** How a call failed: its gRPC status, details and the protocol code in `chat-error-code`; throws if it succeeded. */
export async function grpcFailure(pending: Promise<unknown>): Promise<{ code: status; details: string; chatCode: string | undefined }> {
  try {
    await pending;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details, chatCode: e.metadata?.get('chat-error-code')[0]?.toString() };
  }
  throw new Error('the call succeeded');
}

/** The unary RPCs of ChatApi, by their client method names. */
export type UnaryRpc =
  | 'sendMessage'
  | 'editMessage'
  | 'deleteMessage'
  | 'react'
  | 'markRead'
  | 'openDm'
  | 'createGroup'
  | 'addMembers'
  | 'removeMember'
  | 'getConversation'
  | 'listConversations'
  | 'listMembers'
  | 'getUsers'
  | 'history'
  | 'thread'
  | 'search';

type Callback = (err: ServiceError | null, reply: unknown) => void;
type UnaryMethod = (request: unknown, metadata: Metadata, options: { deadline: number }, callback: Callback) => unknown;

/**
 * For a test file: a factory of GrpcChat clients to 127.0.0.1:<port()> (the
 * port read when a client is made, so inside tests), all closed after the file.
 */
export function useGrpcClients(port: () => number | undefined): (token: string | undefined) => GrpcChat {
  const clients: GrpcChat[] = [];
  afterAll(() => clients.forEach((c) => c.close()));
  return (token) => {
    const c = new GrpcChat(`127.0.0.1:${port()}`, token);
    clients.push(c);
    return c;
  };
}

/** Metadata with `authorization: Bearer <token>`, or none when token is undefined. */
export function bearer(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

/**
 * A real grpc-js ChatApi client for tests: unary calls as promises (a failure
 * rejects with the ServiceError, whose `code` is the gRPC status), and
 * WatchEvents streams that collect what arrives.
 */
export class GrpcChat {
  readonly client: ChatApiClient;

  constructor(
    address: string,
    readonly token: string | undefined,
    options: { credentials?: ChannelCredentials; channelOptions?: ChannelOptions } = {},
  ) {
    this.client = new ChatApiClient(address, options.credentials ?? credentials.createInsecure(), options.channelOptions);
  }

  /** A unary call; `token` overrides the client's (null: no authorization metadata). */
  call<T = Record<string, unknown>>(rpc: UnaryRpc, request: object, token: string | null = this.token ?? null, timeoutMs = 15_000): Promise<T> {
    const method = (this.client[rpc] as unknown as UnaryMethod).bind(this.client);
    return new Promise((resolve, reject) => {
      method(request, bearer(token ?? undefined), { deadline: Date.now() + timeoutMs }, (err, reply) => (err ? reject(err) : resolve(reply as T)));
    });
  }

  /** Opens a WatchEvents stream. */
  watch(request: Partial<WatchEventsRequest> = {}, token: string | null = this.token ?? null): WatchTap {
    return new WatchTap(this.client.watchEvents({ since: {}, changesSince: {}, ...request }, bearer(token ?? undefined)));
  }

  /** Opens a StreamMessage call and sends its start. */
  stream(conversationId: string, clientMsgId: string, token: string | null = this.token ?? null): StreamTap {
    let settle!: (r: { message?: ChatMessage; error?: ServiceError }) => void;
    const result = new Promise<{ message?: ChatMessage; error?: ServiceError }>((resolve) => (settle = resolve));
    const call = this.client.streamMessage(bearer(token ?? undefined), (err, reply) => settle(err ? { error: err } : { message: reply.message }));
    call.on('error', () => {}); // reported through `result`
    call.write({ kind: { $case: 'start', value: { conversationId, clientMsgId } } });
    return new StreamTap(call, result);
  }

  close(): void {
    this.client.close();
  }
}

/** One StreamMessage call: deltas, end, and how it was answered. */
export class StreamTap {
  constructor(
    readonly call: ReturnType<ChatApiClient['streamMessage']>,
    /** The call's answer: the final message, or the error it failed with. */
    readonly result: Promise<{ message?: ChatMessage; error?: ServiceError }>,
  ) {}

  delta(text: string): void {
    this.call.write({ kind: { $case: 'delta', value: { text } } });
  }

  /** Sends end{} and half-closes; resolves with the final message (rejects with the call's error). */
  async end(): Promise<ChatMessage> {
    this.call.write({ kind: { $case: 'end', value: {} } });
    this.call.end();
    const r = await this.result;
    if (r.error || !r.message) throw r.error ?? new Error('no message in the reply');
    return r.message;
  }

  /** Half-closes without end{} (a producer that just stops). */
  hangUp(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** What one WatchEvents stream received, and how it ended. */
export class WatchTap {
  readonly events: WatchEventsResponse[] = [];
  /** Resolves with the status the stream ended with (OK when the server ended it cleanly, CANCELLED after cancel()). */
  readonly ended: Promise<{ code: status; details: string }>;
  /** Resolves when the server sends the response headers: the stream is registered, and every event published after it arrives. */
  readonly registered: Promise<void>;
  readonly #waiters = new Set<() => void>();

  constructor(readonly stream: ReturnType<ChatApiClient['watchEvents']>) {
    this.registered = new Promise((resolve) => stream.once('metadata', () => resolve()));
    stream.on('data', (e: WatchEventsResponse) => {
      this.events.push(e);
      for (const w of [...this.#waiters]) w();
    });
    this.ended = new Promise((resolve) => {
      stream.on('error', (err: ServiceError) => resolve({ code: err.code, details: err.details }));
      stream.on('status', (s: { code: status; details: string }) => {
        if (s.code === status.OK) resolve(s);
      });
    });
  }

  /** The message.new events of a conversation, as { seq, body }. */
  messages(conversationId: string): { seq: number; body: string }[] {
    return this.events
      .filter((e) => e.name === 'message.new' && e.conversationId === conversationId)
      .map((e) => ({ seq: e.seq, body: (JSON.parse(e.json) as { message: { body: string } }).message.body }));
  }

  /** Resolves once `count` events match, with them; rejects after `timeoutMs`. */
  waitFor(match: (e: WatchEventsResponse) => boolean, count = 1, timeoutMs = 5000): Promise<WatchEventsResponse[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.filter(match);
        if (found.length < count) return false;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`WatchEvents: ${this.events.filter(match).length} of ${count} matching events within ${timeoutMs} ms (got ${this.events.map((e) => e.name).join(', ')})`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** Raw protobuf for the two standard services, so tests need neither their .proto files nor generated code. */
const passBytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };

/** grpc.health.v1.Health/Check for `service` ('' is the whole server): the status name, e.g. SERVING. */
export function healthCheck(address: string, service = '', channel: ChannelCredentials = credentials.createInsecure()): Promise<string> {
  const client = new GenericClient(address, channel);
  const request = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(service)]), Buffer.from(service)]);
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest('/grpc.health.v1.Health/Check', passBytes.serialize, passBytes.deserialize, request, (err, reply) => {
      client.close();
      if (err) return reject(err);
      // HealthCheckResponse { ServingStatus status = 1; } (an absent field is 0, UNKNOWN)
      const value = reply && reply.length >= 2 && reply[0] === 0x08 ? reply[1]! : 0;
      resolve(['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][value] ?? String(value));
    });
  });
}

/** grpc.reflection.v1 ServerReflectionInfo with list_services: the service names the server lists. */
export function reflectedServices(address: string): Promise<string[]> {
  const client = new GenericClient(address, credentials.createInsecure());
  const call = client.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', passBytes.serialize, passBytes.deserialize);
  return new Promise<string[]>((resolve, reject) => {
    call.on('data', (reply: Buffer) => {
      call.end();
      client.close();
      // ServerReflectionResponse.list_services_response = 6 { repeated ServiceResponse service = 1 { string name = 1 } }
      const list = field(reply, 6);
      resolve(list ? fields(list, 1).map((service) => field(service, 1)?.toString('utf8') ?? '') : []);
    });
    call.on('error', (err) => {
      client.close();
      reject(err);
    });
    call.write(Buffer.from([0x3a, 0x01, 0x2a])); // list_services = 7: "*"
  });
}

/** Every length-delimited field `number` of a protobuf message (varint fields skipped). */
function fields(buf: Buffer, number: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const b = buf[i++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    if ((tag & 7) === 0) {
      varint();
      continue;
    }
    const length = varint();
    if (tag >>> 3 === number) out.push(buf.subarray(i, i + length));
    i += length;
  }
  return out;
}

function field(buf: Buffer, number: number): Buffer | undefined {
  return fields(buf, number)[0];
}
