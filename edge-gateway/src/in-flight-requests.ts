/**
 * The requests a gateway is serving (WebSocket frames and gRPC calls sent to
 * the backend and not answered yet), so that stopping can wait for them.
 */
export class InFlightRequests {
  #count = 0;
  #idle: (() => void) | undefined;

  /** Requests not answered yet. */
  get count(): number {
    return this.#count;
  }

  /** Counts a request that starts (+1) or ends (-1); the frame handler and the gRPC service call it. */
  readonly change = (delta: 1 | -1): void => {
    this.#count += delta;
    if (this.#count === 0 && this.#idle) this.#idle();
  };

  /**
   * Resolves once no request is in flight, or after `timeoutMs` whatever is
   * left. Meant for when some are (`count` > 0) and new ones are refused.
   */
  settled(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
