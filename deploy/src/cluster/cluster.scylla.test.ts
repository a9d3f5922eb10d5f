import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropLiveKeyspace, liveCql, liveKeyspace } from '@chat/testkit/live-cql';
import { runMigrate } from '../cli/migrate-command.js';
import { type Sender, SteadyLoad } from '@chat/testkit/cluster-load';
import { scrapeMetric } from './local-cluster.js';
import { LEASE_TTL_MS, expectNothingLostOrDoubled, stallsAfter, useCluster } from '@chat/testkit/cluster-fixture';

// Cluster mode with STORE=scylla: three actor host processes share one CQL
// store (a real Cassandra node, the test run's, see testkit/live-cql) and fence each
// other by epoch through its lightweight transactions. A host is SIGKILLed,
// SIGSTOPped or joins under load: nothing acknowledged may be lost or stored
// twice, and seqs stay gapless (a seq whose rows died with the host is sealed
// as a deleted placeholder by the next owner).

const { start: startCluster, senders } = useCluster();

/** The shared check, with placeholders allowed (a seq whose rows died with a host is sealed by the next owner); resolves with both counts. */
async function checkHistories(load: SteadyLoad, list: Sender[]): Promise<{ checked: number; placeholders: number }> {
  let placeholders = 0;
  const checked = await expectNothingLostOrDoubled(load, list, { allowPlaceholders: true, onPlaceholders: (n) => (placeholders = n) });
  return { checked, placeholders };
}

/** chat_shards_owned in the first /metrics answer of a host that was just sent SIGCONT. */
async function firstOwnedAfterWaking(url: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await scrapeMetric(url, 'chat_shards_owned');
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Where the hosts' store lives. */
interface CqlBackend {
  contactPoint: string;
  keyspace: string;
  close(): Promise<void>;
}

const live = liveCql('cluster over the Scylla store on a live CQL server');

describe.skipIf(!live)(`cluster over the Scylla store on a live CQL server (${live?.server ?? 'none'})`, () => {
  clusterOnScylla('live', async () => {
    const keyspace = liveKeyspace('chat_cluster');
    return { contactPoint: live!.contactPoints, keyspace, close: () => dropLiveKeyspace(live!, keyspace) };
  });
});

function clusterOnScylla(name: string, startBackend: () => Promise<CqlBackend>): void {
  let backend: CqlBackend;
  let env: Record<string, string>;

  beforeAll(async () => {
    backend = await startBackend();
    env = { STORE: 'scylla', SCYLLA_CONTACT_POINTS: backend.contactPoint, SCYLLA_KEYSPACE: backend.keyspace, SCYLLA_REPLICATION: 'SimpleStrategy:1', SCYLLA_REQUEST_TIMEOUT_MS: '3000' };
    await runMigrate(env);
  });

  afterAll(async () => {
    await backend?.close();
  });

  it('SIGKILL of one of three actor hosts under load: nothing acknowledged is lost or doubled, seqs stay gapless', async () => {
    const c = await startCluster(2, 3, { env });
    const list = await senders(c, 12, 'scylla');
    const load = new SteadyLoad(list, { intervalMs: 60, retryForMs: 20_000, tag: 'y' }).start();
    await new Promise((r) => setTimeout(r, 1500));
    const victim = c.actorHosts[1]!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 2500));
    await load.stop();

    expect([...new Set(load.records.filter((r) => !r.ok).map((r) => r.error))].filter((e) => e !== 'unavailable')).toEqual([]);
    const { checked, placeholders } = await checkHistories(load, list);
    expect(checked).toBeGreaterThan(100);
    const stalledFor = stallsAfter(load, list, killedAt);
    console.log(
      `${name} scylla cluster failover: ${stalledFor.length} of ${list.length} conversations stalled, SIGKILL to first ack ${Math.max(0, ...stalledFor)} ms at most ` +
        `(lease TTL ${LEASE_TTL_MS} ms); ${checked} acks checked, ${placeholders} sealed placeholders, ${load.records.filter((r) => !r.ok).length} failed attempts`,
    );
  }, 90_000);

  it('SIGSTOP past the lease TTL mid-load: the other host takes over; once woken, the paused one serves nothing and nothing is lost or doubled', async () => {
    const c = await startCluster(1, 2, { env });
    const list = await senders(c, 8, 'scylla-stop');
    const load = new SteadyLoad(list, { intervalMs: 40, retryForMs: 20_000, tag: 'z' }).start();
    await new Promise((r) => setTimeout(r, 1500));
    // Paused wherever it is: between a claim and its rows, inside a batch, or idle. Unlike a
    // shared SQLite file, nothing it holds stops the other host from writing.
    const paused = c.actorHosts[0]!;
    paused.child.kill('SIGSTOP');
    const pausedAt = Date.now();
    await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 3000));
    const servedWhilePaused = list.filter((s) => load.records.some((r) => r.ok && r.conversationId === s.conversationId && r.sentAt > pausedAt + LEASE_TTL_MS));
    expect(servedWhilePaused.length, 'conversations acknowledged again while the host sleeps').toBe(list.length);
    paused.child.kill('SIGCONT');
    // Awake, its deadline timer fires before it answers anything, so it serves no shard then.
    // (It may join again and be handed shards under new claims within a lease round: on a
    // loaded machine that has been seen to take less than 600 ms, so the first answer counts.)
    expect(await firstOwnedAfterWaking(paused.opsUrl)).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    await load.stop();

    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    const { checked, placeholders } = await checkHistories(load, list);
    expect(checked).toBeGreaterThan(100);
    console.log(`${name} scylla SIGSTOP: ${checked} acks checked, ${placeholders} sealed placeholders`);
  }, 90_000);

  it('a third actor host joining under load takes its share by hand-off (drain, release, new epoch), with nothing lost or doubled', async () => {
    const c = await startCluster(1, 2, { env });
    const list = await senders(c, 8, 'scylla-join');
    const load = new SteadyLoad(list, { intervalMs: 40, retryForMs: 20_000, tag: 'j' }).start();
    await new Promise((r) => setTimeout(r, 1000));
    const newcomer = await c.addActorHost();
    await c.waitForShards();
    let owned = 0;
    for (let i = 0; i < 100 && (owned < 10 || owned > 11); i++) {
      owned = await scrapeMetric(newcomer.opsUrl, 'chat_shards_owned');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([10, 11]).toContain(owned); // 32 shards over 3 hosts
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    const { checked, placeholders } = await checkHistories(load, list);
    expect(checked).toBeGreaterThan(100);
    // A hand-off drains before releasing: no seq is ever left claimed without its rows.
    expect(placeholders).toBe(0);
  }, 90_000);
}
