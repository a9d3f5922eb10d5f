/**
 * The shard map: `shard = fnv1a32(conversationId) mod shardCount`. Gateways
 * route with it and actor hosts check it, so it must never change for a
 * deployment's shard count (changing SHARDS is a migration, not a restart).
 */
export const DEFAULT_SHARDS = 256;

/** FNV-1a, 32-bit, over the UTF-16 code units (ids are ASCII, so this is their bytes). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function shardOf(conversationId: string, shardCount: number): number {
  return fnv1a32(conversationId) % shardCount;
}
