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

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: BusHeaders | undefined;
  /** Answers a request. Returns false (and does nothing) if this message was not a request. */
  respond(data: Uint8Array, headers?: BusHeaders): boolean;
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
  publish(subject: string, data: Uint8Array, headers?: BusHeaders): void;
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): Subscription;
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<BusMessage>;
  /** Resolves when everything published so far has left this process. */
  flush(): Promise<void>;
  /** Connected and able to carry messages. */
  isReady(): boolean;
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
