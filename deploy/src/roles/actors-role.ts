import type { Bus, ChangeFeed, Logger, Registry } from '@chat/platform';
import { limitsFromEnv, systemClock } from '@chat/platform';
import {
  ActorHost,
  ActorMetrics,
  ChangeNoticeStore,
  DEFAULT_STREAM_TIMINGS,
  type ActorsEnv,
  type ChatStore,
  DEFAULT_MAX_SYNC_MESSAGES,
  QueryService,
  type ShardOwnership,
  WriteHealthStore,
  openStore,
} from '@chat/conversation-actors';

/** A running actor host with its query service; stop() drains and releases its shards. */
export interface ActorsRole {
  store: ChatStore;
  /** False while the store cannot write (disk full, read-only): the role is not ready. See WriteHealthStore. */
  writable(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts the conversation actors on a bus: the actor host serving the shards
 * `ownership` gives it, and the query service. The same wiring in standalone
 * (LocalBus, every shard) and cluster mode (NATS, leased shards).
 */
export async function startActorsRole(options: {
  bus: Bus;
  config: ActorsEnv;
  /** Builds the shard ownership, given the role's metrics. */
  ownership: (metrics: ActorMetrics) => ShardOwnership;
  registry: Registry;
  logger: Logger;
  /**
   * Where the host announces each message write it acknowledges (cluster
   * actors with SEARCH=postgres: the `chat indexer` follows it). Absent: no
   * notices.
   */
  changeFeed?: ChangeFeed;
}): Promise<ActorsRole> {
  const { bus, config, registry, logger } = options;
  // STORE selects SQLite in DATA_DIR (default) or ScyllaDB (SCYLLA_*).
  const metrics = new ActorMetrics(registry);
  // Watched for writes the file system refuses: readiness follows it (WriteHealthStore).
  const opened = await openStore(config, logger);
  // A write is acknowledged only once its change notice is stored (ChangeNoticeStore).
  const store = new WriteHealthStore(options.changeFeed ? new ChangeNoticeStore(opened, options.changeFeed) : opened, {
    logger: logger.child({ component: 'store' }),
    onChange: (writable) => metrics.storeWritable.set(writable ? 1 : 0),
  });
  const host = new ActorHost({
    bus,
    store,
    ownership: options.ownership(metrics),
    shardCount: config.SHARDS,
    limits: limitsFromEnv(config),
    logger: logger.child({ component: 'actor-host' }),
    metrics,
    clock: systemClock,
    idleMs: config.ACTOR_IDLE_MS,
    mailboxCapacity: config.ACTOR_MAILBOX_CAPACITY,
    maxBatch: config.ACTOR_MAX_BATCH,
    streams: { ...DEFAULT_STREAM_TIMINGS, idleMs: config.STREAM_IDLE_MS },
  });
  const query = new QueryService({
    bus,
    store,
    logger: logger.child({ component: 'query' }),
    metrics,
    maxSyncMessages: DEFAULT_MAX_SYNC_MESSAGES,
    viewMembers: config.VIEW_MEMBERS,
  });
  try {
    await host.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  query.start();
  return {
    store,
    writable: () => store.writable,
    stop: async () => {
      await query.stop();
      await host.stop();
      await store.close();
    },
  };
}
