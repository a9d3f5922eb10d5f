import type { LeaseEntry, LeaseTable, LeaseWrite } from '@chat/platform';
import { HostLease } from './host-lease.js';

/** The key of a shard's claim in the claims table. */
export const shardKey = (shard: number): string => `shard.${shard}`;

/** Runs one claim write and starts serving the shard if it took it. */
export type ClaimWriter = (shard: number, write: () => Promise<LeaseWrite | null>, previous?: LeaseEntry) => Promise<LeaseWrite | null>;

export interface TakeoverContext {
  claims: LeaseTable;
  hosts: LeaseTable;
  /** The taking member. */
  me: string;
  /** Members whose host lease was in this round's listing (read before any claim below). */
  live: ReadonlySet<string>;
  write: ClaimWriter;
}

/**
 * Takes the claims of `shards` (assigned to `me`) that may be taken now:
 * - a free claim (never written, or released by an owner that drained
 *   first) is created at once;
 * - a claim naming `me` (a write whose answer was missed) is taken back;
 * - a claim naming a member missing from the listing is taken once a read of
 *   that member's host lease, made after the claim was read, finds it gone:
 *   its deadline has passed, so it serves nothing. (Read in that order, a
 *   member that joined after the listing and claimed the shard since cannot
 *   be mistaken for a gone one.)
 * Every take is a compare-and-set on the revision read, so of several takers
 * one wins. A claim naming a live member is left alone: that member hands it
 * off when it sees the same assignment.
 */
export async function takeClaims(shards: number[], { claims, hosts, me, live, write }: TakeoverContext): Promise<void> {
  const free = await Promise.all(shards.map(async (shard) => ({ shard, took: await write(shard, () => claims.acquire(shardKey(shard), me)) })));
  const contested = free.filter((f) => f.took === null).map((f) => f.shard);
  if (contested.length === 0) return;
  const current = await Promise.all(contested.map(async (shard) => ({ shard, claim: await claims.get(shardKey(shard)) })));
  const unknown = [...new Set(current.flatMap(({ claim }) => (claim && claim.owner !== me && !live.has(claim.owner) ? [claim.owner] : [])))];
  const gone = new Set<string>();
  await Promise.all(
    unknown.map(async (owner) => {
      if ((await hosts.get(HostLease.keyOf(owner))) === null) gone.add(owner);
    }),
  );
  await Promise.all(
    current.map(({ shard, claim }) => {
      if (claim && (claim.owner === me || gone.has(claim.owner))) return write(shard, () => claims.take(shardKey(shard), me, claim.revision), claim);
    }),
  );
}
