/** JetStream's answer to a compare-and-set on a stale revision (error 10071). */
export function isWrongLastSequence(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|10071|key exists/i.test(message);
}
