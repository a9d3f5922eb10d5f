import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNatsCluster } from '@chat/testkit/servers';
import { type NatsBus, connectNatsBus } from '../bus/nats-bus.js';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { ensureBucketReplicas } from './bucket-replicas.js';
import { NatsKvLeaseTable } from './nats-kv-lease-table.js';

describe('ensureBucketReplicas on a three-server NATS cluster', () => {
  let cluster: NatsCluster;
  let bus: NatsBus;
  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    bus = await connectNatsBus({ servers: cluster.urls.split(','), name: 'bucket-replicas-test', logger: silentLogger() });
  }, 60_000);
  afterAll(async () => {
    await bus?.close();
    await cluster?.stop();
  });

  it('moves a one-replica lease bucket to three, keeping its entries and its creation time (the lease hold counts from it)', async () => {
    const table = await NatsKvLeaseTable.open(bus.connection, { ttlMs: 0, bucket: 'grow', replicas: 1 });
    const held = await table.acquire('shard-1', 'host-a');
    expect(held).not.toBeNull();
    const createdBefore = await table.createdAt();
    const jsm = await bus.connection.jetstreamManager();

    const options = { bucket: 'grow', replicas: 3, setting: 'LEASE_REPLICAS', logger: silentLogger() };
    expect(await ensureBucketReplicas(jsm, options)).toBe(true);
    const info = await jsm.streams.info('KV_grow');
    expect(info.config.num_replicas).toBe(3);
    expect(await table.createdAt()).toBe(createdBefore);
    expect((await table.get('shard-1'))?.owner).toBe('host-a');
    // Already there: nothing to do.
    expect(await ensureBucketReplicas(jsm, options)).toBe(false);
  }, 60_000);

  it('refuses more replicas than the cluster has servers, naming the setting', async () => {
    await NatsKvLeaseTable.open(bus.connection, { ttlMs: 0, bucket: 'toomany', replicas: 1 });
    const jsm = await bus.connection.jetstreamManager();
    const attempt = ensureBucketReplicas(jsm, { bucket: 'toomany', replicas: 5, setting: 'LEASE_REPLICAS', logger: silentLogger() });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow('LEASE_REPLICAS=5: NATS cannot keep 5 replicas of bucket toomany; it needs a NATS cluster with at least 5 JetStream servers');
  }, 60_000);
});
