/**
 * Which shards this host serves, and with which epoch. Standalone mode owns
 * every shard with a fixed epoch (StaticOwnership); cluster mode keeps a host
 * lease and claims shards in JetStream KV (LeaseOwnership), with the claim
 * write's fencingEpoch as the epoch.
 */
export interface ShardOwnership {
  /** Starts taking shards; the listener hears of every change from now on. */
  start(listener: OwnershipListener): Promise<void>;
  /** Releases every shard (the listener's `releasing` runs for each) and stops. */
  stop(): Promise<void>;
  /** The epoch this host holds shard `shard` with, or undefined if it does not own it. */
  epochOf(shard: number): number | undefined;
}

export interface OwnershipListener {
  /** The host now owns `shard` with `epoch` and must start serving it. */
  acquired(shard: number, epoch: number): void;
  /** The host must stop serving `shard`; ownership passes on once this resolves. */
  releasing(shard: number): Promise<void>;
}

/** Owns all shards with one epoch: a single host, as in standalone mode. */
export class StaticOwnership implements ShardOwnership {
  #listener: OwnershipListener | undefined;
  #stopping = false;

  constructor(
    private readonly shardCount: number,
    private readonly epoch = 1,
  ) {}

  async start(listener: OwnershipListener): Promise<void> {
    this.#listener = listener;
    for (let shard = 0; shard < this.shardCount; shard++) listener.acquired(shard, this.epoch);
  }

  async stop(): Promise<void> {
    const listener = this.#listener;
    if (!listener || this.#stopping) return;
    this.#stopping = true;
    // The shards stay ours (epochOf answers) until released: draining actors still write with our epoch.
    try {
      const all = [];
      for (let shard = 0; shard < this.shardCount; shard++) all.push(listener.releasing(shard));
      await Promise.all(all);
    } finally {
      this.#listener = undefined;
      this.#stopping = false;
    }
  }

  epochOf(shard: number): number | undefined {
    return this.#listener && shard >= 0 && shard < this.shardCount ? this.epoch : undefined;
  }
}
