import { describe, expect, it } from 'vitest';
import { connectNatsBus, claimsBucketOf, settingsBucketOf, silentLogger } from '@chat/platform';
import { SteadyLoad } from '@chat/testkit/cluster-load';
import { expectNothingLostOrDoubled, useCluster } from '@chat/testkit/cluster-fixture';
import { waitReady } from './local-cluster.js';

const { start, senders } = useCluster();

/** No ack in a conversation for this long, while it is sent to every 50 ms, is a stall. */
const STALL_MS = 300;
/** The longest a conversation may stall after a NATS server dies: a JetStream leader election plus a lease round, with room for a slow machine. */
const RECOVERY_BOUND_MS = 15_000;

describe('cluster: a NATS server of three lost for good', () => {
  it('keeps the replicated lease state, is served again by the two left, and loses no acknowledged message', async () => {
    const c = await start(2, 2, { natsNodes: 3 });
    expect(c.natsNodes).toHaveLength(3);
    const bus = await connectNatsBus({ servers: c.natsUrl.split(','), name: 'node-loss-test', logger: silentLogger() });
    let leasesLeader: string;
    try {
      const jsm = await bus.connection.jetstreamManager();
      // The local cluster asks for 3 replicas on 3 servers (LEASE_REPLICAS).
      for (const bucket of ['chat_leases', claimsBucketOf('chat_leases'), settingsBucketOf('chat_leases')]) {
        expect((await jsm.streams.info(`KV_${bucket}`)).config.num_replicas, bucket).toBe(3);
      }
      leasesLeader = (await jsm.streams.info('KV_chat_leases')).cluster!.leader!;
    } finally {
      await bus.close();
    }

    const list = await senders(c, 6, 'nodeloss');
    const load = new SteadyLoad(list, { intervalMs: 50, retryForMs: 30_000, tag: 'n' }).start();
    await new Promise((r) => setTimeout(r, 1500));

    // The worst server to lose: the one leading the host-lease bucket. It never comes back.
    const victim = c.natsNodes[Number(leasesLeader.replace('nats-', '')) - 1]!;
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, RECOVERY_BOUND_MS + 3000));
    const stoppedAt = Date.now();
    await load.stop();

    // Per conversation, the longest time without an ack that began after the kill.
    const stalls = list.map((s) => {
      const acks = [...load.acked().values()].filter((r) => r.conversationId === s.conversationId && r.answeredAt > killedAt).map((r) => r.answeredAt);
      acks.sort((a, b) => a - b);
      let longest = 0;
      let previous = killedAt;
      for (const at of acks) {
        longest = Math.max(longest, at - previous);
        previous = at;
      }
      // A conversation that stopped being served for good stalls until the load stopped.
      longest = Math.max(longest, stoppedAt - previous);
      return { longest, acks: acks.length };
    });
    console.log(`NATS node loss (${leasesLeader}, leading the host leases): longest stall per conversation ${stalls.map((s) => s.longest).join(', ')} ms; acks after the kill ${stalls.map((s) => s.acks).join(', ')}`);
    for (const s of stalls) {
      expect(s.acks, 'acknowledged again after the loss').toBeGreaterThan(20);
      expect(s.longest, 'no conversation stalled longer than the bound').toBeLessThan(RECOVERY_BOUND_MS);
    }
    const slow = stalls.filter((s) => s.longest > STALL_MS).length;
    console.log(`NATS node loss: ${slow} of ${stalls.length} conversations stalled over ${STALL_MS} ms`);

    // Every role is ready again on the two servers left.
    for (const p of [...c.gateways, ...c.actorHosts]) await waitReady(p, 10_000);
    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    expect(await expectNothingLostOrDoubled(load, list)).toBeGreaterThan(100);
  }, 150_000);
});
