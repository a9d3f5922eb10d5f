/**
 * Group commit for calls to the search database: a call made while none is
 * running goes at once, alone; calls made while one runs wait and then go
 * together, as one statement, when it returns. Quiet, nothing waits; busy,
 * the round trips per call fall with the load (the indexer runs up to
 * INDEXER_CONCURRENCY catch-ups at once, each needing a position read and
 * an apply).
 *
 * A batch that fails with an error `splits` accepts (bad data) is run again
 * one call at a time, so a call that cannot succeed fails alone instead of
 * taking its batch-mates with it; any other failure (the database down or
 * slow) fails the whole batch at once rather than wait out a timeout per call.
 */
export class GroupCommit<Req, Res> {
  readonly #queue: Pending<Req, Res>[] = [];
  #running = false;

  /**
   * `run` answers a batch, one result per request in order. `joins(batch,
   * req)`: whether `req` may go in the same statement as `batch` (a request
   * that may not waits for the next one). `max`: most requests per batch.
   * `splits(err)`: whether a failed batch may owe its failure to one of its
   * calls, so it is worth running them one at a time (default: never).
   */
  constructor(
    private readonly run: (batch: Req[]) => Promise<Res[]>,
    private readonly joins: (batch: readonly Req[], req: Req) => boolean = () => true,
    private readonly max = 256,
    private readonly splits: (err: unknown) => boolean = () => false,
  ) {}

  call(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ req, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const batch: Pending<Req, Res>[] = [];
    const later: Pending<Req, Res>[] = [];
    for (const item of this.#queue) {
      if (batch.length < this.max && this.joins(batch.map((b) => b.req), item.req)) batch.push(item);
      else later.push(item);
    }
    this.#queue.splice(0, this.#queue.length, ...later);
    this.#running = true;
    void this.#settle(batch).finally(() => {
      this.#running = false;
      this.#pump();
    });
  }

  async #settle(batch: Pending<Req, Res>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((b) => b.req));
      batch.forEach((b, i) => b.resolve(results[i] as Res));
      return;
    } catch (err) {
      if (batch.length === 1 || !this.splits(err)) {
        for (const b of batch) b.reject(err);
        return;
      }
    }
    for (const b of batch) {
      try {
        const [result] = await this.run([b.req]);
        b.resolve(result as Res);
      } catch (err) {
        b.reject(err);
      }
    }
  }
}

interface Pending<Req, Res> {
  req: Req;
  resolve: (res: Res) => void;
  reject: (err: unknown) => void;
}
