/**
 * The message bus every role talks through: subject-based publish/subscribe,
 * queue groups and request/reply, with NATS semantics. Implementations: the
 * in-process LocalBus (standalone mode) and the NATS bus (cluster mode).
 *
 * Guarantees every implementation keeps:
 * - Messages from one publisher to one subscriber arrive in publish order.
 * - A queue-group message goes to exactly one member of the group.
 * - Delivery is asynchronous: a handler never runs inside publish().
 * - request() rejects with BusNoRespondersError when nobody subscribes, and with
 *   BusTimeoutError when nobody answers in time.
 */
export type BusHeaders = Readonly<Record<string, string>>;

/** A protobuf message type as ts-proto generates it: what turns a value into bytes and back. */
export interface Codec<T> {
  encode(value: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

/**
 * A message body as the object it encodes. The in-process bus hands the
 * object itself to subscribers (no encode, no decode: standalone pays no
 * cluster tax); a network bus encodes it once. In-process every receiver
 * gets the same object, so receivers treat `value` as read-only.
 */
export interface Encoded<T = unknown> {
  readonly codec: Codec<T>;
  readonly value: T;
}

/** What may be published: bytes, or an object with its codec. */
export type BusPayload = Uint8Array | Encoded;

/** A body of `value` to be encoded by `codec` only if it leaves the process. */
export function encoded<T>(codec: Codec<T>, value: T): Encoded<T> {
  return { codec, value };
}

/** Bytes of object bodies already encoded: one published to many subjects is encoded once. */
const encodedBytes = new WeakMap<Encoded, Uint8Array>();

/** The bytes of a payload (encoding an object once, however often it is sent). */
export function payloadBytes(payload: BusPayload): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  let bytes = encodedBytes.get(payload);
  if (!bytes) encodedBytes.set(payload, (bytes = payload.codec.encode(payload.value).finish()));
  return bytes;
}

/**
 * The message's body as `codec`'s type: the publisher's object itself when it
 * came in-process encoded by the same codec, else decoded from the bytes.
 * Throws what `codec.decode` throws on bytes that are not such a message.
 */
export function decodeBody<T>(msg: BusMessage, codec: Codec<T>): T {
  const body = msg.body;
  if (body !== undefined && body.codec === codec) return body.value as T;
  return codec.decode(msg.data);
}

export interface BusMessage {
  readonly subject: string;
  /** The body's bytes (for an in-process object body, encoded on first access). */
  readonly data: Uint8Array;
  /** The publisher's object, when it came in-process as one; read it with decodeBody(). */
  readonly body?: Encoded | undefined;
  readonly headers: BusHeaders | undefined;
  /** Answers a request. Returns false (and does nothing) if this message was not a request. */
  respond(data: BusPayload, headers?: BusHeaders): boolean;
}

export type BusHandler = (msg: BusMessage) => void;

export interface Subscription {
  readonly subject: string;
  /** Stops delivery at once; messages already queued for this subscription are dropped. */
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one subscriber of the group. */
  queue?: string;
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: BusHeaders;
}

export interface Bus {
  publish(subject: string, data: BusPayload, headers?: BusHeaders): void;
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): Subscription;
  request(subject: string, data: BusPayload, options: RequestOptions): Promise<BusMessage>;
  /** Resolves when everything published so far has left this process. */
  flush(): Promise<void>;
  /** Connected and able to carry messages. */
  isReady(): boolean;
  /**
   * The largest message publish() and respond() carry now, in bytes: the body
   * plus its encoded headers. A bigger one makes publish() throw a RangeError
   * and nothing is sent. `Infinity` when the bus has no limit (the in-process
   * bus hands objects over without encoding them). Over NATS it is the
   * connected server's `max_payload`, which may change when the bus
   * reconnects to another server: read it at each publish, do not keep it.
   */
  maxPayload(): number;
  /**
   * Calls `listener` each time the bus has reconnected after losing its
   * connection: messages published to this process meanwhile were lost, so
   * state kept from them may be stale. Returns a function that unregisters it.
   * The in-process bus never disconnects and never calls it.
   */
  onReconnect(listener: () => void): () => void;
  /** Unsubscribes everything, lets queued deliveries finish, and closes. */
  close(): Promise<void>;
}
