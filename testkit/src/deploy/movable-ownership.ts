import type { OwnershipListener, ShardOwnership } from '@chat/conversation-actors';

/**
 * Shard ownership a test moves by hand: owns every shard, and `move(shard)`
 * makes it leave (drain and stop, like a hand-off) and come back a little
 * later with a higher epoch, as if another host had taken it over.
 */
export class MovableOwnership implements ShardOwnership {
  readonly #epochs = new Map<number, number>();
  #listener: OwnershipListener | undefined;

  constructor(private readonly shardCount: number) {}

  async start(listener: OwnershipListener): Promise<void> {
    this.#listener = listener;
    for (let shard = 0; shard < this.shardCount; shard++) {
      this.#epochs.set(shard, 1);
      listener.acquired(shard, 1);
    }
  }

  async stop(): Promise<void> {
    const listener = this.#listener;
    if (!listener) return;
    await Promise.all([...this.#epochs.keys()].map((shard) => listener.releasing(shard)));
    this.#epochs.clear();
    this.#listener = undefined;
  }

  epochOf(shard: number): number | undefined {
    return this.#epochs.get(shard);
  }

  /** Releases `shard` (its requests find no responder), then re-acquires it after `gapMs` with a new epoch. */
  async move(shard: number, gapMs: number): Promise<void> {
    const listener = this.#listener;
    const epoch = this.#epochs.get(shard);
    if (!listener || epoch === undefined) throw new Error(`shard ${shard} is not owned`);
    await listener.releasing(shard);
    this.#epochs.delete(shard);
    await new Promise((r) => setTimeout(r, gapMs));
    this.#epochs.set(shard, epoch + 1);
    listener.acquired(shard, epoch + 1);
  }
}
