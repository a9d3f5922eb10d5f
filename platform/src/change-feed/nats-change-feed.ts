import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { ChangeNotice, shardOf } from '@chat/proto';
import { ChangeFeedUnavailableError } from '../errors.js';
import { mayBeMissingStream } from '../leases/kv-errors.js';
import type { ChangeFeed } from './change-feed.js';
import { type ChangeStreamSettings, type ResolvedChangeStream, changeStreamManager, ensureChangeStream, resolveChangeStream } from './nats-change-stream.js';

export interface NatsChangeFeedOptions extends ChangeStreamSettings {
  /** The cluster's SHARDS: a notice goes to `<subjectPrefix>.<shard of its conversation>`. */
  shards: number;
  /** Bounds each publish (the wait for JetStream's acknowledgement). Default 5000. */
  requestTimeoutMs?: number;
}

/**
 * A ChangeFeed on a JetStream stream (ensureChangeStream). publish() resolves
 * on JetStream's acknowledgement, i.e. once the notice is stored. If NATS came
 * back without its JetStream store, the publish that finds the stream missing
 * creates it again and publishes once more: the followers find their
 * position gone with it and reconcile (NatsChangeFollower), so nothing
 * published before the loss is needed any more.
 */
export class NatsChangeFeed implements ChangeFeed {
  #recreating: Promise<unknown> | undefined;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: ResolvedChangeStream,
    private readonly shards: number,
    private readonly timeout: number,
  ) {}

  /** Binds to the stream, creating it if it is missing. Fails with ChangeFeedUnavailableError. */
  static async open(connection: NatsConnection, options: NatsChangeFeedOptions): Promise<NatsChangeFeed> {
    const settings = resolveChangeStream(options);
    const timeout = options.requestTimeoutMs ?? 5000;
    const jsm = await changeStreamManager(connection, timeout);
    await ensureChangeStream(jsm, settings);
    return new NatsChangeFeed(connection.jetstream({ timeout }), jsm, settings, options.shards, timeout);
  }

  async publish(notice: ChangeNotice): Promise<void> {
    const subject = `${this.settings.subjectPrefix}.${shardOf(notice.conversationId, this.shards)}`;
    const data = ChangeNotice.encode(notice).finish();
    try {
      await this.js.publish(subject, data, { timeout: this.timeout });
      return;
    } catch (err) {
      if (!mayBeMissingStream(err)) throw new ChangeFeedUnavailableError(`publishing the change notice of ${notice.conversationId} failed`, { cause: err });
    }
    // No stream took it: NATS lost its JetStream store. One recreation at a time, then once more.
    this.#recreating ??= ensureChangeStream(this.jsm, this.settings).finally(() => {
      this.#recreating = undefined;
    });
    try {
      await this.#recreating;
      await this.js.publish(subject, data, { timeout: this.timeout });
    } catch (err) {
      throw new ChangeFeedUnavailableError(`publishing the change notice of ${notice.conversationId} failed (the change stream ${this.settings.stream} was missing)`, { cause: err });
    }
  }
}
