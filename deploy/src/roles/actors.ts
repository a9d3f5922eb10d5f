import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  checkFramesFitBus,
  ConfigError,
  type Logger,
  NatsChangeFeed,
  NatsKvLeaseTable,
  checkSharedSettings,
  claimsBucketOf,
  connectNatsBus,
  createMetricsRegistry,
  ensureBucketReplicas,
  isReplicaPlacementError,
  loadEnvConfig,
  replicaPlacementError,
  settingsBucketOf,
  startOpsServer,
  startTracing,
} from '@chat/platform';
import { LeaseOwnership, checkViewsFitBus } from '@chat/conversation-actors';
import { changeStreamSettings, clusterActorsEnvSchema, natsConnectSettings } from './cluster-env.js';
import { startActorsRole } from './actors-role.js';
import type { RunningSystem } from './standalone.js';

/**
 * `chat actors`: an actor host on NATS. It keeps a host lease, takes its share of shards and
 * is ready once connected and its first lease round is done.
 */
export async function startClusterActors(logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const config = loadEnvConfig(clusterActorsEnvSchema, env);
  const nats = natsConnectSettings(config, 'actors');
  const hostId = config.HOST_ID || `${hostname().replace(/[^A-Za-z0-9_-]/g, '-')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = logger.child({ hostId });
  const tracing = await startTracing({ role: 'actors', logger: log, env });
  const registry = createMetricsRegistry('actors');
  let started = false;
  let ownership: LeaseOwnership | undefined;
  // Not ready while its store cannot write (set once the actors role runs).
  let writable = () => true;
  let bus;
  let ops;
  try {
    bus = await connectNatsBus({ ...nats, name: `actors-${hostId}`, logger: log, registry });
    // Before anything shared is written (settings, bucket replicas, streams): frames or views the NATS
    // servers cannot carry are settings to fix, not outages.
    checkFramesFitBus(bus, config.MAX_FRAME_BYTES);
    checkViewsFitBus(bus, config.VIEW_MEMBERS, config.MAX_FRAME_BYTES);
    const connected = bus;
    // Not ready while NATS is unreachable, the host lease cannot be renewed (it serves nothing then),
    // or its store cannot write (every write would fail).
    ops = await startOpsServer({
      port: config.PORT,
      registry,
      logger: log,
      ready: () => started && connected.isReady() && (ownership?.holdsLease() ?? false) && writable(),
    });
  } catch (err) {
    await bus?.close();
    await tracing.shutdown();
    throw err;
  }
  const opsServer = ops;
  try {
    const connection = bus.connection;
    const recordSettings = () =>
      checkSharedSettings({
        connection,
        leaseBucket: config.LEASE_BUCKET,
        mine: { SHARDS: config.SHARDS, LEASE_TTL_MS: config.LEASE_TTL_MS, LEASE_REPLICAS: config.LEASE_REPLICAS },
        who: `actor host ${hostId}`,
        logger: log,
        replicas: config.LEASE_REPLICAS,
        recorder: { anyHostAlive: async () => (await LeaseOwnership.liveHostCount(hosts)) > 0 },
      });
    // Host leases expire after LEASE_TTL_MS; shard claims stay until handed off or taken from a host that is gone.
    // If NATS lost its JetStream store, the settings went with it: record them again for gateways and new hosts.
    const replicas = config.LEASE_REPLICAS;
    const hosts: NatsKvLeaseTable = await NatsKvLeaseTable.open(connection, {
      ttlMs: config.LEASE_TTL_MS,
      bucket: config.LEASE_BUCKET,
      replicas,
      onRecreated: () => {
        log.warn({ bucket: config.LEASE_BUCKET }, 'lease storage was lost (NATS restarted without its JetStream store) and has been recreated; rejoining and recording the shared settings again');
        void recordSharedSettingsAgain(recordSettings, log);
      },
    });
    await recordSettings();
    const claims = await NatsKvLeaseTable.open(bus.connection, {
      ttlMs: 0,
      bucket: claimsBucketOf(config.LEASE_BUCKET),
      replicas,
      // Claim writes happen inside a lease round: bounded like the renewals, so a round never outlasts the TTL.
      requestTimeoutMs: Math.max(100, Math.floor(config.LEASE_TTL_MS / 4)),
    });
    // Buckets made before LEASE_REPLICAS changed (or with another host's value, refused above) move to it.
    const jsm = await connection.jetstreamManager();
    for (const bucket of [config.LEASE_BUCKET, claimsBucketOf(config.LEASE_BUCKET), settingsBucketOf(config.LEASE_BUCKET)]) {
      await ensureBucketReplicas(jsm, { bucket, replicas, setting: 'LEASE_REPLICAS', logger: log });
    }
    // SEARCH=postgres: every acknowledged message write leaves a change notice for the `chat indexer`.
    const changeFeed =
      config.SEARCH === 'postgres'
        ? await NatsChangeFeed.open(connection, { ...changeStreamSettings(config), shards: config.SHARDS }).catch((err: unknown) => {
            throw isReplicaPlacementError(err) ? replicaPlacementError('CHANGES_REPLICAS', config.CHANGES_REPLICAS, 'the change stream', err) : err;
          })
        : undefined;
    const actors = await startActorsRole({
      bus,
      config,
      ...(changeFeed ? { changeFeed } : {}),
      ownership: (metrics) =>
        (ownership = new LeaseOwnership({ hosts, claims, hostId, shardCount: config.SHARDS, logger: log.child({ component: 'leases' }), metrics })),
      registry,
      logger: log,
    });
    writable = actors.writable;
    // Back on NATS (perhaps one that lost its JetStream store): renew now rather than at the next round.
    bus.onReconnect(() => ownership?.nudge());
    started = true;
    log.info({ shards: ownership?.ownedShards().length }, 'actor host serving');
    return {
      port: ops.port,
      stop: async () => {
        started = false;
        await actors.stop();
        await bus.close();
        await opsServer.close();
        await tracing.shutdown();
      },
    };
  } catch (err) {
    await bus.close();
    await opsServer.close();
    await tracing.shutdown();
    if (isReplicaPlacementError(err) && !(err instanceof ConfigError)) throw replicaPlacementError('LEASE_REPLICAS', config.LEASE_REPLICAS, 'the lease buckets', err);
    throw err;
  }
}

/** Records the shared settings after the lease storage was recreated, retrying a few times (JetStream may still be settling). */
async function recordSharedSettingsAgain(record: () => Promise<void>, log: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await record();
      return;
    } catch (err) {
      if (attempt >= 5) return void log.error({ err }, 'could not record the shared settings again; gateways and new hosts cannot check theirs until a host records them');
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
