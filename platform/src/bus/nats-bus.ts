import {
  connect,
  DebugEvents,
  ErrorCode,
  Events,
  headers as natsHeaders,
  NatsError,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription as NatsSubscription,
} from 'nats';
import { type Bus, type BusHandler, type BusHeaders, type BusMessage, type BusPayload, type RequestOptions, type SubscribeOptions, type Subscription, payloadBytes } from './bus.js';
import { isValidPublishSubject, isValidSubscribeSubject } from './subject-match.js';
import { BusClosedError, BusNoRespondersError, BusTimeoutError } from '../errors.js';
import type { NatsAuth, NatsTls } from './nats-security.js';
import { refusalOf } from './nats-refusal.js';
import type { Logger } from '../logger.js';
import type { Registry } from 'prom-client';
import { NatsBusMetrics } from './nats-bus-metrics.js';

/** Options of {@link connectNatsBus}. */
export interface NatsBusOptions {
  /** One or more server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Connection name the server shows in its monitoring (e.g. `gateway-<host>`). */
  name: string;
  logger: Logger;
  /**
   * Timeout of the connection's own round trips: the handshake with a server
   * and, by default, JetStream API requests made through `connection`
   * (default 5000 ms). Bus requests always use their own `timeoutMs`.
   */
  requestTimeoutMs?: number;
  /** Where to register the connection's metrics (chat_nats_connected, ...); none if absent. */
  registry?: Registry;
  /** Credentials (see loadNatsSecurity); none: connect anonymously. */
  auth?: NatsAuth | undefined;
  /** TLS files (see loadNatsSecurity); none: plain TCP, or TLS with the system's CAs if the server demands it. */
  tls?: NatsTls | undefined;
  /**
   * Where the replies to this connection's requests (and its JetStream API
   * calls) arrive: `<prefix>.<unique id>`; default nats.js's `_INBOX`. A
   * prefix per role lets the server allow each role only its own replies.
   */
  inboxPrefix?: string | undefined;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** nats-server's own default max_payload (1 MiB), assumed while the connection has no server INFO. */
const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Reconnect pause; nats.js adds up to RECONNECT_JITTER_MS so a restarted server is not hit by every client at once. */
const RECONNECT_TIME_WAIT_MS = 250;
const RECONNECT_JITTER_MS = 100;
/** A server that stops answering pings (paused, partitioned) is given up after about PING_INTERVAL_MS × MAX_PINGS_OUT. */
const PING_INTERVAL_MS = 5000;
const MAX_PINGS_OUT = 3;
/** close() drains first; if the drain cannot complete (server gone mid-drain) the connection is closed anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

type State = 'connected' | 'reconnecting' | 'draining' | 'closed';

/**
 * Connects to NATS and resolves with a ready {@link NatsBus}. Fails fast, with
 * a BusClosedError naming the URL(s), if no server can be reached now, and
 * with a BusRefusedError if the server refuses the credentials or the TLS
 * handshake fails; once connected, the bus reconnects by itself for ever.
 */
export async function connectNatsBus(options: NatsBusOptions): Promise<NatsBus> {
  const servers = options.servers;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      // Reconnect for ever after the first connection; never wait for a server at start.
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
      reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      // Otherwise every request builds two Errors (stack traces for a timeout it
      // rarely has): 15% of a gateway's busy time under a DM load, per its CPU
      // profile. Our errors name the subject and timeout instead.
      noAsyncTraces: true,
      ...(options.auth ? { authenticator: options.auth.authenticator } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    });
  } catch (err) {
    const where = Array.isArray(servers) ? servers.join(', ') : servers;
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    throw refusalOf(err, { where, auth: options.auth, tls: options.tls, timeoutMs }) ?? new BusClosedError(`cannot connect to NATS at ${where}: ${describe(err)}`, { cause: err });
  }
  return new NatsBus(nc, options.logger, options.registry);
}

/**
 * The Bus over a NATS connection (cluster mode).
 *
 * Beyond the Bus guarantees: each subscription's handler is called from the
 * connection's receive path in arrival order; a handler that throws is logged
 * and stays subscribed. Core NATS is at-most-once: while the connection is
 * down, publish() drops messages silently, request() rejects at once with a
 * BusClosedError, and requests already in flight end in BusTimeoutError.
 * Subscriptions survive reconnects. Header values are trimmed (NATS header
 * rules) and may not contain CR or LF; invalid subjects, queue names and
 * headers throw RangeError.
 */
export class NatsBus implements Bus {
  /** The underlying connection, for what the Bus does not cover (JetStream KV for shard leases). */
  readonly connection: NatsConnection;
  readonly #log: Logger;
  #state: State = 'connected';
  #closing: Promise<void> | undefined;
  readonly #reconnectListeners = new Set<() => void>();
  readonly #metrics: NatsBusMetrics | undefined;

  constructor(connection: NatsConnection, logger: Logger, registry?: Registry) {
    this.connection = connection;
    this.#log = logger.child({ component: 'nats-bus' });
    this.#metrics = registry ? new NatsBusMetrics(registry, () => this.isReady()) : undefined;
    this.#watchStatus().catch((err: unknown) => this.#log.error({ err }, 'NATS status watcher failed'));
    void this.#watchClosed();
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  isReady(): boolean {
    return this.#state === 'connected';
  }

  /** The connected server's max_payload (its INFO); nats-server's default while none is known. */
  maxPayload(): number {
    return this.connection.info?.max_payload ?? NATS_DEFAULT_MAX_PAYLOAD;
  }

  publish(subject: string, data: BusPayload, headers?: BusHeaders): void {
    if (this.#state === 'closed') throw new BusClosedError();
    if (!isValidPublishSubject(subject)) throw new RangeError(`invalid subject to publish: ${JSON.stringify(subject)}`);
    const hdrs = toMsgHdrs(headers);
    try {
      this.connection.publish(subject, payloadBytes(data), hdrs ? { headers: hdrs } : undefined);
    } catch (err) {
      throw this.#mapConnectionError(err);
    }
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Subscription {
    if (this.#state === 'closed' || this.#state === 'draining') throw new BusClosedError();
    if (!isValidSubscribeSubject(subject)) throw new RangeError(`invalid subject to subscribe: ${JSON.stringify(subject)}`);
    const queue = options.queue;
    // The queue name goes into the protocol line as is, so whitespace would corrupt it.
    if (queue !== undefined && (queue.length === 0 || /\s/.test(queue))) {
      throw new RangeError(`invalid queue group: ${JSON.stringify(queue)}`);
    }
    let active = true;
    let sub: NatsSubscription;
    try {
      sub = this.connection.subscribe(subject, {
        ...(queue !== undefined ? { queue } : {}),
        // Called synchronously per message in arrival order (an async iterator would add a hop and no ordering benefit).
        callback: (err, msg) => {
          if (!active) return;
          if (err) {
            this.#log.warn({ err, subject }, 'subscription error');
            return;
          }
          try {
            handler(this.#toBusMessage(msg));
          } catch (handlerErr) {
            // A throw here would unwind into the nats.js parser and stop the connection's reader.
            this.#log.error({ err: handlerErr, subject: msg.subject }, 'bus handler threw');
          }
        },
      });
    } catch (err) {
      throw this.#mapConnectionError(err);
    }
    return {
      subject,
      unsubscribe: () => {
        if (!active) return;
        // Messages of this subscription already received in the same read are dropped by the flag.
        active = false;
        try {
          sub.unsubscribe();
        } catch (err) {
          this.#log.debug({ err, subject }, 'unsubscribe failed (connection closing)');
        }
      },
    };
  }

  async request(subject: string, data: BusPayload, options: RequestOptions): Promise<BusMessage> {
    if (this.#state === 'closed' || this.#state === 'draining') throw new BusClosedError();
    if (!isValidPublishSubject(subject)) throw new RangeError(`invalid subject to publish: ${JSON.stringify(subject)}`);
    // nats.js discards what was queued while disconnected when it reconnects, so waiting would only end in a timeout.
    if (this.#state === 'reconnecting') throw new BusClosedError(`not connected to NATS; cannot send a request on ${subject}`);
    const hdrs = toMsgHdrs(options.headers);
    try {
      const reply = await this.connection.request(subject, payloadBytes(data), { timeout: options.timeoutMs, ...(hdrs ? { headers: hdrs } : {}) });
      return this.#toBusMessage(reply);
    } catch (err) {
      throw this.#mapRequestError(err, subject, options.timeoutMs);
    }
  }

  async flush(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'reconnecting') throw new BusClosedError('not connected to NATS; nothing can leave this process');
    try {
      await this.connection.flush();
    } catch (err) {
      throw this.#mapConnectionError(err);
    }
  }

  /**
   * Drains the connection: stops receiving, lets handlers of messages already
   * received run, sends what is queued, then closes. If the server is
   * unreachable the connection is closed without draining. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasConnected = this.#state === 'connected';
    if (this.#state !== 'closed') this.#state = 'draining';
    if (wasConnected && !this.connection.isClosed()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          this.connection.drain(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`drain did not finish within ${DRAIN_TIMEOUT_MS} ms`)), DRAIN_TIMEOUT_MS);
          }),
        ]);
      } catch (err) {
        this.#log.warn({ err }, 'drain failed; closing the NATS connection without it');
      } finally {
        clearTimeout(timer);
      }
    }
    // Also after a drain: nats.js skips its close when the final flush of a drain fails, and would keep reconnecting.
    await this.connection.close();
    this.#state = 'closed';
  }

  #toBusMessage(msg: Msg): BusMessage {
    let answered = false;
    const reply = msg.reply;
    return {
      subject: msg.subject,
      data: msg.data,
      headers: fromMsgHdrs(msg.headers),
      respond: (payload, replyHeaders) => {
        if (!reply || answered || this.#state === 'closed') return false;
        const hdrs = toMsgHdrs(replyHeaders);
        answered = true;
        try {
          this.connection.publish(reply, payloadBytes(payload), hdrs ? { headers: hdrs } : undefined);
          return true;
        } catch (err) {
          this.#log.warn({ err, subject: msg.subject }, 'could not send a reply');
          return false;
        }
      },
    };
  }

  #mapRequestError(err: unknown, subject: string, timeoutMs: number): Error {
    if (!(err instanceof NatsError)) return err instanceof Error ? err : new Error(String(err));
    const code = err.code;
    if (code === ErrorCode.NoResponders) return new BusNoRespondersError(subject, { cause: err });
    if (code === ErrorCode.Timeout) {
      // nats.js fails requests still waiting at close with a timeout; the caller should see why.
      if (this.#state === 'draining' || this.#state === 'closed') {
        return new BusClosedError(`the bus closed before a reply on ${subject} came`, { cause: err });
      }
      return new BusTimeoutError(subject, timeoutMs, { cause: err });
    }
    return this.#mapConnectionError(err);
  }

  #mapConnectionError(err: unknown): Error {
    if (!(err instanceof NatsError)) return err instanceof Error ? err : new Error(String(err));
    switch (err.code) {
      case ErrorCode.ConnectionClosed:
      case ErrorCode.ConnectionDraining:
      case ErrorCode.Cancelled:
        return new BusClosedError(undefined, { cause: err });
      case ErrorCode.Disconnect:
        return new BusClosedError('the NATS connection was lost', { cause: err });
      case ErrorCode.BadHeader:
      case ErrorCode.BadSubject:
      case ErrorCode.MaxPayloadExceeded:
        return new RangeError(err.message, { cause: err });
      default:
        return err;
    }
  }

  /** Follows the connection's status events: readiness and log lines. Ends when the connection closes. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      switch (status.type) {
        case Events.Disconnect:
          if (this.#state === 'connected') this.#state = 'reconnecting';
          this.#metrics?.disconnects.inc();
          this.#log.warn({ server: status.data }, 'disconnected from NATS; reconnecting');
          break;
        case Events.Reconnect:
          if (this.#state === 'reconnecting') this.#state = 'connected';
          this.#metrics?.reconnects.inc();
          this.#log.info({ server: status.data }, 'reconnected to NATS');
          for (const listener of this.#reconnectListeners) {
            try {
              listener();
            } catch (err) {
              this.#log.error({ err }, 'reconnect listener failed');
            }
          }
          break;
        case Events.LDM:
          this.#log.warn({ server: status.data }, 'NATS server entering lame duck mode');
          break;
        case Events.Error:
          this.#log.error({ error: status.data, permission: status.permissionContext }, 'NATS reported an error');
          break;
        case DebugEvents.StaleConnection:
          this.#log.warn('NATS connection stale (no pong); reconnecting');
          break;
        case DebugEvents.Reconnecting:
          this.#log.debug({ server: status.data }, 'trying to reconnect to NATS');
          break;
        default:
          this.#log.debug({ status: status.type, data: status.data }, 'NATS status');
      }
    }
  }

  async #watchClosed(): Promise<void> {
    const err = await this.connection.closed();
    if (this.#closing === undefined) {
      // Closed by nats.js itself (e.g. authorization failure on reconnect), not by close().
      this.#log.error({ err }, 'NATS connection closed unexpectedly');
    }
    this.#state = 'closed';
  }
}

function toMsgHdrs(headers: BusHeaders | undefined): MsgHdrs | undefined {
  if (headers === undefined) return undefined;
  const keys = Object.keys(headers);
  if (keys.length === 0) return undefined;
  const hdrs = natsHeaders();
  try {
    for (const key of keys) hdrs.set(key, headers[key]!);
  } catch (err) {
    throw new RangeError(`invalid bus headers: ${describe(err)}`, { cause: err });
  }
  return hdrs;
}

function fromMsgHdrs(hdrs: MsgHdrs | undefined): BusHeaders | undefined {
  if (hdrs === undefined) return undefined;
  const out: Record<string, string> = {};
  // BusHeaders carries one value per key; NATS allows several, of which the first wins.
  for (const [key, values] of hdrs) {
    const first = values[0];
    if (first !== undefined) out[key] = first;
  }
  return out;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Partial<NatsError>).code;
    return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
