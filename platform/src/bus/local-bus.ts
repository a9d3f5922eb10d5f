import { type Bus, type BusHandler, type BusHeaders, type BusMessage, type BusPayload, type Encoded, type RequestOptions, type SubscribeOptions, type Subscription, payloadBytes } from './bus.js';
import { isValidPublishSubject, isValidSubscribeSubject, subjectMatches } from './subject-match.js';
import { BusClosedError, BusNoRespondersError, BusTimeoutError } from '../errors.js';

interface LocalSub {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly handler: BusHandler;
  active: boolean;
}

interface Pending {
  resolve(msg: BusMessage): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Deliveries processed per turn before yielding to I/O, so a publish storm cannot starve sockets. */
const DRAIN_BUDGET = 2048;

/**
 * The in-process bus of standalone mode: the Bus contract with no network.
 * Deliveries go through one FIFO drained asynchronously, so per-publisher
 * order holds and no handler runs inside publish(), exactly as over NATS.
 * An object body (Encoded) reaches subscribers as the object itself, encoded
 * only if one of them reads `data`.
 */
export class LocalBus implements Bus {
  readonly #literal = new Map<string, Set<LocalSub>>();
  readonly #wildcard = new Set<LocalSub>();
  readonly #pending = new Map<string, Pending>();
  #queue: (() => void)[] = [];
  #head = 0;
  #scheduled = false;
  #closed = false;
  #inboxSeq = 0;
  #idle: (() => void)[] = [];

  constructor(private readonly onHandlerError: (err: unknown, subject: string) => void = () => {}) {}

  isReady(): boolean {
    return !this.#closed;
  }

  /** No limit: nothing is encoded or framed in process (a limit would only make publishers measure). */
  maxPayload(): number {
    return Number.POSITIVE_INFINITY;
  }

  onReconnect(): () => void {
    return noop; // never disconnected
  }

  publish(subject: string, data: BusPayload, headers?: BusHeaders): void {
    this.#publish(subject, data, headers, undefined);
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): Subscription {
    if (this.#closed) throw new BusClosedError();
    if (!isValidSubscribeSubject(subject)) throw new RangeError(`invalid subject to subscribe: ${JSON.stringify(subject)}`);
    const sub: LocalSub = { subject, queue: options.queue, handler, active: true };
    const wildcard = subject.includes('*') || subject.includes('>');
    if (wildcard) this.#wildcard.add(sub);
    else {
      let set = this.#literal.get(subject);
      if (!set) this.#literal.set(subject, (set = new Set()));
      set.add(sub);
    }
    return {
      subject,
      unsubscribe: () => {
        sub.active = false;
        if (wildcard) this.#wildcard.delete(sub);
        else {
          const set = this.#literal.get(subject);
          set?.delete(sub);
          if (set?.size === 0) this.#literal.delete(subject);
        }
      },
    };
  }

  request(subject: string, data: BusPayload, options: RequestOptions): Promise<BusMessage> {
    if (this.#closed) return Promise.reject(new BusClosedError());
    // Checked before the timer is armed, so a refused subject leaves no timer or pending entry behind.
    if (!isValidPublishSubject(subject)) return Promise.reject(new RangeError(`invalid subject to publish: ${JSON.stringify(subject)}`));
    const inbox = `_INBOX.local.${++this.#inboxSeq}`;
    return new Promise<BusMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(inbox);
        reject(new BusTimeoutError(subject, options.timeoutMs));
      }, options.timeoutMs);
      this.#pending.set(inbox, { resolve, reject, timer });
      const delivered = this.#publish(subject, data, options.headers, inbox);
      if (delivered === 0) {
        clearTimeout(timer);
        this.#pending.delete(inbox);
        reject(new BusNoRespondersError(subject));
      }
    });
  }

  flush(): Promise<void> {
    if (this.#head >= this.#queue.length) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    for (const set of this.#literal.values()) for (const sub of set) sub.active = false;
    for (const sub of this.#wildcard) sub.active = false;
    this.#literal.clear();
    this.#wildcard.clear();
    for (const [inbox, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new BusClosedError());
      this.#pending.delete(inbox);
    }
  }

  /** Queues the message for every matching subscriber; returns how many will get it. */
  #publish(subject: string, data: BusPayload, headers: BusHeaders | undefined, reply: string | undefined): number {
    if (this.#closed) throw new BusClosedError();
    if (!isValidPublishSubject(subject)) throw new RangeError(`invalid subject to publish: ${JSON.stringify(subject)}`);
    const pending = this.#pending.get(subject);
    if (pending) {
      // A reply to one of our own requests.
      this.#pending.delete(subject);
      clearTimeout(pending.timer);
      const msg = this.#message(subject, data, headers, undefined);
      this.#enqueue(() => pending.resolve(msg));
      return 1;
    }
    // Plain subscribers get every message; a queue group gets it once. The Map
    // is only built when a queue subscriber matches (publish is a hot path).
    const plain: LocalSub[] = [];
    let groups: Map<string, LocalSub[]> | undefined;
    const consider = (sub: LocalSub) => {
      if (sub.queue === undefined) {
        plain.push(sub);
        return;
      }
      groups ??= new Map();
      const g = groups.get(sub.queue);
      if (g) g.push(sub);
      else groups.set(sub.queue, [sub]);
    };
    const literal = this.#literal.get(subject);
    if (literal) for (const sub of literal) consider(sub);
    if (this.#wildcard.size > 0) for (const sub of this.#wildcard) if (subjectMatches(sub.subject, subject)) consider(sub);
    if (groups) for (const members of groups.values()) plain.push(members[Math.floor(Math.random() * members.length)]!);
    if (plain.length === 0) return 0;
    const msg = this.#message(subject, data, headers, reply);
    for (const sub of plain) {
      this.#enqueue(() => {
        if (!sub.active) return;
        try {
          sub.handler(msg);
        } catch (err) {
          this.onHandlerError(err, subject);
        }
      });
    }
    return plain.length;
  }

  #message(subject: string, payload: BusPayload, headers: BusHeaders | undefined, reply: string | undefined): BusMessage {
    let answered = false;
    let bytes = payload instanceof Uint8Array ? payload : undefined;
    const body: Encoded | undefined = payload instanceof Uint8Array ? undefined : payload;
    return {
      subject,
      get data() {
        return (bytes ??= payloadBytes(payload));
      },
      body,
      headers,
      respond: (payload, replyHeaders) => {
        if (reply === undefined || answered || this.#closed) return false;
        answered = true;
        this.#publish(reply, payload, replyHeaders, undefined);
        return true;
      },
    };
  }

  #enqueue(task: () => void): void {
    this.#queue.push(task);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  readonly #drain = (): void => {
    let budget = DRAIN_BUDGET;
    while (this.#head < this.#queue.length && budget-- > 0) {
      const task = this.#queue[this.#head]!;
      this.#queue[this.#head++] = noop;
      task();
    }
    if (this.#head < this.#queue.length) {
      setImmediate(this.#drain);
      return;
    }
    this.#queue = [];
    this.#head = 0;
    this.#scheduled = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  };
}

function noop(): void {}
