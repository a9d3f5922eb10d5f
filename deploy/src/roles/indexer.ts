import {
  ConfigError,
  type Logger,
  NatsChangeFollower,
  connectNatsBus,
  createMetricsRegistry,
  isReplicaPlacementError,
  loadEnvConfig,
  replicaPlacementError,
  startOpsServer,
  startTracing,
} from '@chat/platform';
import { Indexer, IndexerMetrics, catchUp, openPgSearchIndex, openStore, pgSearchOptionsFromEnv } from '@chat/conversation-actors';
import { changeStreamSettings, clusterIndexerEnvSchema, natsConnectSettings } from './cluster-env.js';
import type { RunningSystem } from './standalone.js';

/** How long notices delivered to an indexer that died wait before another one (or its restart) gets them. */
export const INDEXER_ACK_WAIT_MS = 6000;

/**
 * `chat indexer`: keeps the PostgreSQL search index current. It follows the
 * change notices the actor hosts publish (JetStream stream CHAT_CHANGES,
 * durable consumer `chat-indexer`), catches each changed conversation up from
 * the store into the index, and acknowledges a notice only once applied, so a
 * restart at any point misses nothing. Several may run: they share the
 * notices. Ready while connected to NATS and following; /metrics has
 * chat_indexer_* (lag, notices, catch-ups, reconciles). stop() lets the
 * running catch-ups finish, then closes the index, the store and the bus.
 */
export async function startClusterIndexer(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(clusterIndexerEnvSchema, env);
  const nats = natsConnectSettings(config, 'indexer');
  const pg = pgSearchOptionsFromEnv(config);
  if (!pg) throw new ConfigError(['SEARCH: the indexer keeps a PostgreSQL index: set SEARCH=postgres and PG_URL (as on the actor hosts)']);
  const tracing = await startTracing({ role: 'indexer', logger, env });
  const registry = createMetricsRegistry('indexer');
  const metrics = new IndexerMetrics(registry);
  const cleanups: (() => Promise<unknown>)[] = [() => tracing.shutdown()];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  let started = false;
  try {
    const bus = await connectNatsBus({ ...nats, name: `indexer-${process.pid}`, logger, registry });
    cleanups.push(() => bus.close());
    const ops = await startOpsServer({ port: config.PORT, registry, logger, ready: () => started && bus.isReady() });
    cleanups.push(() => ops.close());
    // The store as the actor hosts write it, without their search wrapper: the indexer reads, the index is its own.
    const store = await openStore({ ...config, SEARCH: 'store' }, logger);
    cleanups.push(() => store.close());
    const index = await openPgSearchIndex(pg, logger.child({ component: 'pg-search' }));
    cleanups.push(() => index.close());
    const follower = await NatsChangeFollower.open(bus.connection, {
      ...changeStreamSettings(config),
      batch: config.INDEXER_BATCH,
      maxAckPending: config.INDEXER_BATCH * 10,
      // The indexer marks what it holds as in progress every 2 s, so only a dead indexer's notices wait this out.
      ackWaitMs: INDEXER_ACK_WAIT_MS,
      logger: logger.child({ component: 'change-follower' }),
    }).catch((err: unknown) => {
      throw isReplicaPlacementError(err) ? replicaPlacementError('CHANGES_REPLICAS', config.CHANGES_REPLICAS, 'the change stream', err) : err;
    });
    const indexer = new Indexer({
      follower,
      catchUp: (conversationId) => catchUp(store, index, conversationId),
      store,
      metrics,
      concurrency: config.INDEXER_CONCURRENCY,
      heartbeatMs: INDEXER_ACK_WAIT_MS / 3,
      logger: logger.child({ component: 'indexer' }),
    });
    indexer.start();
    started = true;
    logger.info({ concurrency: config.INDEXER_CONCURRENCY }, 'indexer following the change notices');
    return {
      port: ops.port,
      stop: async () => {
        started = false;
        await indexer.stop();
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
