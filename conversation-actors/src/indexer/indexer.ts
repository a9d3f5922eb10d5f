import { type ChangeFollower, type DeliveredNotice, type FeedLoss, type Logger, silentLogger } from '@chat/platform';
import type { ChatStore } from '../store/store.js';
import { backoffMs, pause } from './backoff.js';
import { type CaughtUp, CatchUpScheduler, type IndexerCatchUp } from './catch-up-scheduler.js';
import type { IndexerMetrics } from './indexer-metrics.js';

export interface IndexerOptions {
  follower: ChangeFollower;
  /** Indexes one conversation from the store past the index's position (search/catch-up.ts). */
  catchUp: IndexerCatchUp;
  /** Where a reconcile finds every conversation. */
  store: Pick<ChatStore, 'listConversationIds'>;
  metrics: IndexerMetrics;
  logger?: Logger;
  /** Most catch-ups running at once (INDEXER_CONCURRENCY). */
  concurrency: number;
  /** The first retry delay after a failure, doubling up to retryMaxMs. Defaults 200 and 30000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /**
   * How often every notice held (waiting or being applied) is marked as still
   * being worked on, so the feed does not deliver it again while this indexer
   * lives; keep it well under the follower's ack wait. Default 2000.
   */
  heartbeatMs?: number;
  /** Conversations a reconcile lists and catches up at a time. Default 100. */
  reconcilePage?: number;
  /** The clock of the lag metric (ms since the epoch). */
  now?: () => number;
}

/**
 * Keeps a search index current from the change feed. Each batch of notices
 * is grouped by conversation and each conversation caught up once (at most
 * `concurrency` at a time, never two for one conversation); a notice is
 * acknowledged only after a catch-up that started after it arrived
 * succeeded, so an indexer killed at any point loses nothing: the feed
 * delivers the unacknowledged notices again, and catching up twice changes
 * nothing. A failed catch-up (PostgreSQL or the store down) acknowledges
 * nothing and its notices come back after a growing delay.
 *
 * When the feed reports a loss, a reconcile catches up every conversation
 * the store has (listConversationIds), while notices keep being applied;
 * only when it completed is the loss marked reconciled, so an indexer
 * stopped mid-way reconciles again after its restart.
 */
export class Indexer {
  readonly #scheduler: CatchUpScheduler;
  readonly #logger: Logger;
  readonly #stop = new AbortController();
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #now: () => number;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #reconcile: { loss: FeedLoss; done: Promise<void> } | undefined;

  constructor(private readonly o: IndexerOptions) {
    this.#logger = o.logger ?? silentLogger();
    this.#retryBaseMs = o.retryBaseMs ?? 200;
    this.#retryMaxMs = o.retryMaxMs ?? 30_000;
    this.#now = o.now ?? Date.now;
    this.#scheduler = new CatchUpScheduler({
      catchUp: o.catchUp,
      concurrency: o.concurrency,
      done: (id, notices, result) => this.#done(id, notices, result),
      failed: (id, notices, err) => this.#failed(id, notices, err),
    });
  }

  /** Starts following the feed. */
  start(): void {
    this.#loop ??= this.#follow();
    // Notices stay with a live indexer however long they wait; a dead one's come back after the ack wait.
    this.#heartbeat ??= setInterval(() => {
      for (const n of this.#scheduler.held()) n.working();
    }, this.o.heartbeatMs ?? 2000);
    this.#heartbeat.unref();
  }

  /**
   * Stops fetching, lets the running catch-ups finish (their notices are
   * acknowledged), hands the waiting notices back to the feed and closes
   * the follower. A reconcile under way stops unfinished (it runs again
   * after the next start).
   */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#heartbeat);
    await this.#loop;
    await this.#scheduler.drain(new Error('the indexer is stopping'));
    await this.#reconcile?.done;
    await this.o.follower.close();
  }

  async #follow(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      // Bounded work in memory: wait while the catch-ups in hand exceed what a batch brings.
      if (this.#scheduler.load > this.o.concurrency * 4) {
        await pause(10, this.#stop.signal);
        continue;
      }
      try {
        const batch = await this.o.follower.next();
        failures = 0;
        if (batch.loss && this.#reconcile?.loss !== batch.loss) this.#startReconcile(batch.loss);
        if (this.#stop.signal.aborted) {
          for (const d of batch.notices) d.retry(0);
          break;
        }
        this.#scheduler.notify(batch.notices);
      } catch (err) {
        failures++;
        this.#logger.warn({ err }, 'cannot fetch change notices; retrying');
        await pause(backoffMs(failures, this.#retryBaseMs, this.#retryMaxMs), this.#stop.signal);
      }
    }
  }

  #done(id: string, notices: DeliveredNotice[], result: CaughtUp): void {
    this.o.metrics.catchUps.inc({ outcome: 'ok' });
    if (typeof result.newestCreatedAt === 'number') this.o.metrics.lag.observe(Math.max(0, this.#now() - result.newestCreatedAt) / 1000);
    for (const n of notices) n.ack();
    this.o.metrics.notices.inc(notices.length);
    if (notices.length > 0) this.#logger.debug({ conversationId: id, notices: notices.length }, 'caught up');
  }

  #failed(id: string, notices: DeliveredNotice[], err: unknown): void {
    this.o.metrics.catchUps.inc({ outcome: 'error' });
    const attempt = 1 + Math.max(0, ...notices.map((n) => n.redeliveries));
    const delay = backoffMs(attempt, this.#retryBaseMs, this.#retryMaxMs);
    for (const n of notices) n.retry(delay);
    this.#logger.warn({ err, conversationId: id, attempt, retryInMs: delay }, 'catch-up failed; its notices come back later');
  }

  /** One reconcile at a time; a newer loss found while one runs starts another after it. */
  #startReconcile(loss: FeedLoss): void {
    const previous = this.#reconcile?.done ?? Promise.resolve();
    const done = previous
      .then(() => this.#reconcileAll(loss))
      .catch((err: unknown) => this.#logger.error({ err }, 'reconcile failed; it runs again after the next start'));
    this.#reconcile = { loss, done };
  }

  async #reconcileAll(loss: FeedLoss): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return;
    this.#logger.warn({ reason: loss.reason, detail: loss.detail }, 'reconciling: catching up every conversation');
    this.o.metrics.reconciling.set(1);
    const started = performance.now();
    let after: string | undefined;
    let visited = 0;
    let failures = 0;
    try {
      while (!signal.aborted) {
        let page: string[];
        let failed: string[] = [];
        try {
          page = await this.o.store.listConversationIds(after, this.o.reconcilePage ?? 100);
          if (page.length === 0) break;
          const outcomes = await Promise.allSettled(page.map((id) => this.#scheduler.run(id)));
          failed = page.filter((_, i) => outcomes[i]!.status === 'rejected');
        } catch (err) {
          failures++;
          this.#logger.warn({ err }, 'reconcile: cannot list conversations; retrying');
          await pause(backoffMs(failures, this.#retryBaseMs, this.#retryMaxMs), signal);
          continue;
        }
        // Conversations whose catch-up failed are tried again until they succeed (or the indexer stops).
        while (failed.length > 0 && !signal.aborted) {
          failures++;
          await pause(backoffMs(failures, this.#retryBaseMs, this.#retryMaxMs), signal);
          if (signal.aborted) break;
          const outcomes = await Promise.allSettled(failed.map((id) => this.#scheduler.run(id)));
          failed = failed.filter((_, i) => outcomes[i]!.status === 'rejected');
        }
        failures = 0;
        visited += page.length;
        after = page.at(-1);
      }
      if (signal.aborted) {
        this.o.metrics.reconcileRuns.inc({ outcome: 'stopped' });
        this.#logger.warn({ visited }, 'reconcile stopped unfinished; it runs again after the next start');
        return;
      }
      await this.#markReconciled(loss, signal);
      this.o.metrics.reconcileRuns.inc({ outcome: 'done' });
      this.#logger.info({ visited, seconds: (performance.now() - started) / 1000 }, 'reconcile done');
    } finally {
      this.o.metrics.reconciling.set(0);
    }
  }

  async #markReconciled(loss: FeedLoss, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await this.o.follower.reconciled(loss);
        return;
      } catch (err) {
        this.#logger.warn({ err }, 'cannot record the reconcile; retrying');
        await pause(backoffMs(attempt, this.#retryBaseMs, this.#retryMaxMs), signal);
      }
    }
  }
}
