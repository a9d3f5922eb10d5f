/** Seconds a refused client is told to wait (Retry-After), before jitter. */
export const FULL_RETRY_AFTER_S = 5;

/**
 * The gateway-wide cap on connections (MAX_CONNECTIONS): WebSocket sessions
 * and gRPC connections (grpc-connection-gate.ts) together. Counts open
 * sockets: uWS opens a socket synchronously inside `res.upgrade()`, and a gRPC
 * connection is counted in its accept callback, so nothing can be admitted
 * between the check and the count.
 *
 * Every session holds a file descriptor; the cap keeps them below the
 * process's open-file limit, so that accepting a connection never fails
 * with EMFILE (see open-file-limit.ts and docs/operations.md for why that matters).
 */
export class ConnectionCap {
  #open = 0;

  constructor(readonly max: number) {}

  /** Sessions open now. */
  get open(): number {
    return this.#open;
  }

  /** True while no further session is admitted: upgrades get 503 and /readyz is false. */
  get full(): boolean {
    return this.#open >= this.max;
  }

  opened(): void {
    this.#open++;
  }

  closed(): void {
    this.#open = Math.max(0, this.#open - 1);
  }

  /**
   * The Retry-After of a refused upgrade: FULL_RETRY_AFTER_S to twice that,
   * at random, so the refused clients do not all come back in the same second.
   */
  retryAfterSeconds(random: () => number = Math.random): number {
    return FULL_RETRY_AFTER_S + Math.floor(random() * (FULL_RETRY_AFTER_S + 1));
  }
}
