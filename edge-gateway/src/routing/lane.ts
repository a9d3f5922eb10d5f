import { BackendUnavailableError, RemoteError } from '../errors.js';

/** How long and how often a lane retries a request that found no owner. */
export interface RetryPolicy {
  /** Total time a request may spend retrying before the client gets `unavailable`. */
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { budgetMs: 10_000, baseDelayMs: 20, maxDelayMs: 500 };

/** One attempt of a request: sends it with `laneAfter` and resolves with its final result. */
export type Attempt<T> = (laneSeq: number, laneAfter: number) => Promise<T>;

interface Pending<T> {
  laneSeq: number;
  attempt: Attempt<T>;
  /** Safe to resend after a timeout (the first try may have been processed). */
  idempotent: boolean;
  deadline: number;
  resolve(value: T): void;
  reject(err: unknown): void;
}

/**
 * The requests of one session to one conversation, kept in the order the
 * session sent them across retries and shard moves.
 *
 * Every request carries its lane seq and `laneAfter`, the previous request
 * still without a final answer; the actor refuses (retryably) a request whose
 * laneAfter it has not processed. When a request fails retryably, the lane
 * blocks: it retries its failed requests one by one in lane order with
 * backoff, holds back new ones, and pipelines again once the oldest succeeds.
 * So a request never overtakes an earlier one of the same session.
 */
export class Lane<T> {
  #nextSeq = 1;
  readonly #inFlight = new Set<number>();
  #queue: Pending<T>[] = [];
  #blocked = false;
  #retrying = false;
  #failures = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly onIdle: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether nothing is in flight or waiting (the lane can be dropped). */
  get idle(): boolean {
    return this.#inFlight.size === 0 && this.#queue.length === 0 && !this.#retrying;
  }

  submit(attempt: Attempt<T>, idempotent: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const p: Pending<T> = { laneSeq: this.#nextSeq++, attempt, idempotent, deadline: this.now() + this.policy.budgetMs, resolve, reject };
      if (this.#blocked) this.#queue.push(p);
      else this.#send(p);
    });
  }

  #send(p: Pending<T>): void {
    let after = 0;
    for (const seq of this.#inFlight) if (seq < p.laneSeq && seq > after) after = seq;
    this.#inFlight.add(p.laneSeq);
    let promise: Promise<T>;
    try {
      promise = p.attempt(p.laneSeq, after);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => this.#settle(p, () => p.resolve(value)),
      (err: unknown) => {
        if (isRetryable(err, p.idempotent) && this.now() < p.deadline) this.#requeue(p);
        else this.#settle(p, () => p.reject(err));
      },
    );
  }

  /** A final answer: the request leaves the lane; a retrying lane moves on. */
  #settle(p: Pending<T>, answer: () => void): void {
    this.#inFlight.delete(p.laneSeq);
    answer();
    if (this.#retrying && this.#inFlight.size === 0) {
      this.#retrying = false;
      this.#failures = 0;
      this.#unblock();
    } else if (this.#blocked && !this.#retrying && this.#inFlight.size === 0) {
      // An earlier request is waiting for its retry while this later one got a final
      // answer (e.g. the earlier one timed out but was processed): retry it now.
      this.#scheduleRetry();
    }
    if (this.idle) this.onIdle();
  }

  #requeue(p: Pending<T>): void {
    this.#inFlight.delete(p.laneSeq);
    this.#blocked = true;
    const i = this.#queue.findIndex((q) => q.laneSeq > p.laneSeq);
    if (i === -1) this.#queue.push(p);
    else this.#queue.splice(i, 0, p);
    if (this.#retrying) {
      // The retry in flight failed again: back off and try the head again.
      if (this.#inFlight.size === 0) {
        this.#retrying = false;
        this.#scheduleRetry();
      }
      return;
    }
    if (this.#inFlight.size === 0) this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retrying) return;
    this.#retrying = true;
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** this.#failures++);
    setTimeout(() => {
      const head = this.#queue.shift();
      if (!head) {
        this.#retrying = false;
        this.#unblock();
        return;
      }
      this.#send(head);
    }, delay * (0.5 + Math.random() / 2));
  }

  /** The oldest request got through: send everything waiting, pipelined, in order. */
  #unblock(): void {
    this.#blocked = false;
    const waiting = this.#queue;
    this.#queue = [];
    for (const p of waiting) {
      if (this.#blocked) this.#queue.push(p);
      else this.#send(p);
    }
  }
}

/**
 * Whether a failure may be retried: the request certainly did not take
 * effect (no owner, refused by a moving or fenced actor, disconnected), or it
 * may have but resending is harmless (a timeout of an idempotent request).
 * Never one the backend marked `noRetry` (its store cannot write): resending
 * within the budget would only hold the client, and the session's later
 * requests behind it in the lane, for the whole budget.
 */
export function isRetryable(err: unknown, idempotent: boolean): boolean {
  if (err instanceof BackendUnavailableError) return err.reason === 'timeout' ? idempotent : true;
  return err instanceof RemoteError && err.code === 'unavailable' && !err.noRetry;
}
