import { AckPolicy, type ConsumerInfo, type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection, nanos } from 'nats';
import { ChangeNotice } from '@chat/proto';
import { ChangeFeedUnavailableError } from '../errors.js';
import { isStreamNotFound } from '../leases/kv-errors.js';
import { type Logger, silentLogger } from '../logger.js';
import type { ChangeBatch, ChangeFollower, DeliveredNotice, FeedLoss } from './change-feed.js';
import { type ChangeStreamSettings, type ResolvedChangeStream, changeStreamManager, ensureChangeStream, resolveChangeStream } from './nats-change-stream.js';

/** The durable consumer's name when none is given. */
export const DEFAULT_CHANGE_FOLLOWER = 'chat-indexer';

/** The consumer's description while a loss waits for its reconcile: kept by NATS, so a restart still sees it. */
const PENDING_PREFIX = 'reconcile pending: ';
const SETTLED_DESCRIPTION = 'chat change follower';

export interface NatsChangeFollowerOptions extends ChangeStreamSettings {
  /** The durable consumer's name: followers sharing it share the notices. Default DEFAULT_CHANGE_FOLLOWER. */
  durable?: string;
  /** Most notices one next() returns. Default 100. */
  batch?: number;
  /** Most notices delivered and not yet acknowledged (the consumer's max_ack_pending). Default 1000. */
  maxAckPending?: number;
  /** A notice neither acknowledged nor retried within this is delivered again. Default 30000. */
  ackWaitMs?: number;
  /** How long next() waits for a first notice. Default 1000. */
  fetchWaitMs?: number;
  /** How often the consumer and stream are looked up for losses. Default 5000. */
  checkMs?: number;
  requestTimeoutMs?: number;
  logger?: Logger;
}

/**
 * A ChangeFollower on a JetStream durable pull consumer with explicit
 * acknowledgements. Messages are pulled continuously (at most
 * maxAckPending unacknowledged) and handed out in batches.
 *
 * Loss is found two ways, and recorded in the consumer's description
 * before it is reported, so a follower restarted before reconciling reports
 * it again:
 * - the consumer does not exist (first start, or NATS came back without its
 *   JetStream store): it is created with the mark already set;
 * - the stream's first sequence is past the consumer's ack floor + 1: the
 *   limits dropped notices the consumer had not acknowledged (delivered or
 *   not). Looked at every `checkMs`.
 * Both are properties of the consumer, not of one follower, so several
 * followers may share it (each gets part of the notices).
 */
export class NatsChangeFollower implements ChangeFollower {
  readonly #queue: JsMsg[] = [];
  #wake: (() => void) | undefined;
  #messages: ConsumerMessages | undefined;
  #loss: FeedLoss | undefined;
  #nextCheckAt = 0;
  #closed = false;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly s: ResolvedChangeStream,
    private readonly durable: string,
    private readonly o: Required<Pick<NatsChangeFollowerOptions, 'batch' | 'maxAckPending' | 'ackWaitMs' | 'fetchWaitMs' | 'checkMs'>>,
    private readonly logger: Logger,
  ) {}

  /** Creates the stream and the consumer if missing and starts pulling. Fails with ChangeFeedUnavailableError. */
  static async open(connection: NatsConnection, options: NatsChangeFollowerOptions = {}): Promise<NatsChangeFollower> {
    const timeout = options.requestTimeoutMs ?? 5000;
    const jsm = await changeStreamManager(connection, timeout);
    const follower = new NatsChangeFollower(
      connection.jetstream({ timeout }),
      jsm,
      resolveChangeStream(options),
      options.durable ?? DEFAULT_CHANGE_FOLLOWER,
      {
        batch: options.batch ?? 100,
        maxAckPending: options.maxAckPending ?? 1000,
        ackWaitMs: options.ackWaitMs ?? 30_000,
        fetchWaitMs: options.fetchWaitMs ?? 1000,
        checkMs: options.checkMs ?? 5000,
      },
      options.logger ?? silentLogger(),
    );
    await follower.#check();
    return follower;
  }

  async next(): Promise<ChangeBatch> {
    if (this.#closed) throw new ChangeFeedUnavailableError('the change follower is closed');
    if (Date.now() >= this.#nextCheckAt || !this.#messages) await this.#check();
    if (this.#queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.fetchWaitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    const taken = this.#queue.splice(0, this.o.batch);
    const notices: DeliveredNotice[] = [];
    for (const m of taken) {
      let notice: ChangeNotice;
      try {
        notice = ChangeNotice.decode(m.data);
      } catch (err) {
        this.logger.error({ err, seq: m.seq, subject: m.subject }, 'dropping a change notice that does not decode');
        m.term();
        continue;
      }
      notices.push({
        notice,
        redeliveries: Math.max(0, m.info.redeliveryCount - 1),
        ack: () => m.ack(),
        retry: (delayMs) => m.nak(delayMs),
        working: () => m.working(),
      });
    }
    return { notices, loss: this.#loss };
  }

  async reconciled(loss: FeedLoss): Promise<void> {
    if (loss !== this.#loss) return;
    await this.#describe(SETTLED_DESCRIPTION);
    if (this.#loss === loss) this.#loss = undefined;
    this.logger.info({ reason: loss.reason }, 'change feed loss reconciled');
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#stopPulling();
  }

  /** Looks the consumer and stream up: creates what is missing, finds losses, (re)starts pulling. */
  async #check(): Promise<void> {
    let info: ConsumerInfo | undefined;
    try {
      info = await this.jsm.consumers.info(this.s.stream, this.durable);
    } catch (err) {
      if (!isStreamNotFound(err) && !isConsumerNotFound(err)) throw new ChangeFeedUnavailableError(`cannot look up the change consumer ${this.durable}`, { cause: err });
    }
    if (info && !this.#messages && info.config.ack_wait !== nanos(this.o.ackWaitMs)) {
      // Created with another ack wait (an older setting): take this follower's.
      try {
        info = await this.jsm.consumers.update(this.s.stream, this.durable, { ack_wait: nanos(this.o.ackWaitMs) });
      } catch (err) {
        throw new ChangeFeedUnavailableError(`cannot set the ack wait of the change consumer ${this.durable}`, { cause: err });
      }
    }
    if (!info) {
      await this.#stopPulling();
      await ensureChangeStream(this.jsm, this.s);
      info = await this.#create();
    }
    const pending = info.config.description?.startsWith(PENDING_PREFIX) ? info.config.description.slice(PENDING_PREFIX.length) : undefined;
    if (pending !== undefined && !this.#loss) this.#loss = { reason: pending.startsWith('position-created') ? 'position-created' : 'reconcile-pending', detail: pending };
    if (!this.#loss) {
      const state = await this.#streamState();
      if (state.first_seq > info.ack_floor.stream_seq + 1) {
        await this.#lost('notices-discarded', `stream starts at ${state.first_seq} but ${this.durable} acknowledged all only up to ${info.ack_floor.stream_seq}`);
      }
    }
    if (!this.#messages) await this.#startPulling();
    this.#nextCheckAt = Date.now() + this.o.checkMs;
  }

  async #create(): Promise<ConsumerInfo> {
    const detail = `position-created: consumer ${this.durable} did not exist (first start, or NATS lost its JetStream store)`;
    try {
      const info = await this.jsm.consumers.add(this.s.stream, {
        durable_name: this.durable,
        description: PENDING_PREFIX + detail,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(this.o.ackWaitMs),
        max_ack_pending: this.o.maxAckPending,
        max_deliver: -1,
      });
      this.logger.warn({ durable: this.durable }, 'change consumer created: a full reconcile follows');
      return info;
    } catch (err) {
      // Another follower of the same name created it first: use it.
      try {
        return await this.jsm.consumers.info(this.s.stream, this.durable);
      } catch {
        throw new ChangeFeedUnavailableError(`cannot create the change consumer ${this.durable}`, { cause: err });
      }
    }
  }

  async #lost(reason: FeedLoss['reason'], detail: string): Promise<void> {
    const loss: FeedLoss = { reason, detail };
    await this.#describe(PENDING_PREFIX + `${reason}: ${detail}`);
    this.#loss = loss;
    this.logger.warn({ reason, detail }, 'change notices lost: a full reconcile follows');
  }

  async #describe(description: string): Promise<void> {
    try {
      await this.jsm.consumers.update(this.s.stream, this.durable, { description });
    } catch (err) {
      throw new ChangeFeedUnavailableError(`cannot record the reconcile state on the change consumer ${this.durable}`, { cause: err });
    }
  }

  async #streamState() {
    try {
      return (await this.jsm.streams.info(this.s.stream)).state;
    } catch (err) {
      throw new ChangeFeedUnavailableError(`cannot look up the change stream ${this.s.stream}`, { cause: err });
    }
  }

  async #startPulling(): Promise<void> {
    try {
      const consumer = await this.js.consumers.get(this.s.stream, this.durable);
      this.#messages = await consumer.consume({
        max_messages: Math.min(this.o.maxAckPending, this.o.batch * 2),
        expires: Math.max(1000, this.o.fetchWaitMs * 5),
        callback: (m) => {
          this.#queue.push(m);
          this.#wake?.();
        },
      });
    } catch (err) {
      throw new ChangeFeedUnavailableError(`cannot pull from the change consumer ${this.durable}`, { cause: err });
    }
    void (async () => {
      const messages = this.#messages;
      for await (const status of await messages!.status()) {
        // The consumer or stream vanished (NATS lost its store): look again at once.
        if (status.type === 'consumer_not_found' || status.type === 'stream_not_found' || status.type === 'consumer_deleted') this.#nextCheckAt = 0;
      }
    })().catch(() => {});
  }

  async #stopPulling(): Promise<void> {
    const messages = this.#messages;
    this.#messages = undefined;
    // Messages pulled but not handed out yet: delivered again at once (to whoever follows next).
    for (const m of this.#queue.splice(0)) m.nak();
    if (messages) await messages.close().catch(() => {});
  }
}

/** The JetStream API's answer that a consumer does not exist (10014). */
function isConsumerNotFound(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: unknown } } | undefined;
  if (e?.api_error?.err_code === 10014) return true;
  return /consumer not found|10014/i.test(err instanceof Error ? err.message : String(err));
}
