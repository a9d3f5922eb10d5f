import { afterEach, describe, expect, it } from 'vitest';
import { connectNatsBus, silentLogger } from '@chat/platform';
import { type NatsCluster, startNatsCluster } from './nats-cluster.js';

describe('startNatsCluster (Debian nats-server)', () => {
  let cluster: NatsCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('routes three servers into one JetStream cluster whose replicated bucket survives the loss of any one of them', async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    expect(cluster.urls.split(',')).toHaveLength(3);
    const bus = await connectNatsBus({ servers: cluster.urls.split(','), name: 'nats-cluster-test', logger: silentLogger() });
    const nc = bus.connection;
    try {
      const kv = await nc.jetstream({ timeout: 2000 }).views.kv('survivor', { replicas: 3, history: 1 });
      await kv.put('k', new TextEncoder().encode('before'));
      const info = await (await nc.jetstreamManager()).streams.info('KV_survivor');
      expect(info.config.num_replicas).toBe(3);
      expect(info.cluster?.replicas ?? []).toHaveLength(2);

      // Lose the stream's leader for good: the other two elect a new one and keep the data.
      const leader = cluster.nodes[Number(info.cluster!.leader!.replace('nats-', '')) - 1]!;
      await leader.kill('SIGKILL');
      // What was written before is still there on the two left (read from the new leader once elected).
      let before: string | undefined;
      const elected = Date.now() + 30_000;
      while (before === undefined && Date.now() < elected) {
        before = await kv.get('k').then(
          (e) => (e ? new TextDecoder().decode(e.value) : 'missing'),
          () => undefined,
        );
        if (before === undefined) await new Promise((r) => setTimeout(r, 200));
      }
      expect(before).toBe('before');
      const deadline = Date.now() + 30_000;
      let written = false;
      while (!written && Date.now() < deadline) {
        written = await kv.put('k', new TextEncoder().encode('after')).then(
          () => true,
          () => false,
        );
        if (!written) await new Promise((r) => setTimeout(r, 200));
      }
      expect(written).toBe(true);
      expect(new TextDecoder().decode((await kv.get('k'))!.value)).toBe('after');

      // It comes back, catches up, and the cluster has its meta leader again.
      await leader.restart();
      await cluster.waitForJetStream();
    } finally {
      await bus.close();
    }
  }, 90_000);

  it('refuses a cluster of no server', async () => {
    await expect(startNatsCluster({ nodes: 0 })).rejects.toThrow('a NATS cluster needs at least one server, not 0');
  });
});
