/** How reconnect delays grow. */
export interface BackoffOptions {
  /** The first delay's upper bound. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * The delay before reconnect attempt `attempt` (0 for the first): exponential
 * growth capped at maxMs, with "equal jitter" (half fixed, half random) so a
 * gateway restart does not bring every client back in the same instant, while
 * each client still waits at least half the nominal delay.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
