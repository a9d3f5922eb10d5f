/** JetStream's answer to a compare-and-set on a stale revision (error 10071). */
export function isWrongLastSequence(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|10071|key exists/i.test(message);
}

/**
 * An answer that may mean the bucket's stream is gone (NATS came back with an
 * empty JetStream store): "stream not found" (10059) from the JetStream API,
 * or no responders (503) to a KV write or direct get, whose subjects nothing
 * listens on without the stream. A hint only: confirm with a stream lookup.
 */
export function mayBeMissingStream(err: unknown): boolean {
  const e = err as { message?: unknown; code?: unknown; api_error?: { err_code?: unknown } } | undefined;
  if (e?.api_error?.err_code === 10059 || e?.code === '503') return true;
  const message = err instanceof Error ? err.message : String(err);
  return /stream not found|no responders|10059|\b503\b/i.test(message);
}

/** The JetStream API's definite answer that a stream does not exist (10059). */
export function isStreamNotFound(err: unknown): boolean {
  const e = err as { message?: unknown; api_error?: { err_code?: unknown } } | undefined;
  if (e?.api_error?.err_code === 10059) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /stream not found|10059/i.test(message);
}
