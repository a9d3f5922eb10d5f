import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CqlServer, startCqlServer } from '@chat/conversation-actors/testing';
import { runMigrate } from '../cli/migrate-command.js';
import { SteadyLoad, fullHistory } from './cluster-load.js';
import { LEASE_TTL_MS, useCluster } from './cluster-fixture.js';

// Cluster mode with STORE=scylla: three actor host processes share one
// "ScyllaDB" (the CQL emulator over the native protocol, in this test
// process; no ScyllaDB can run here) and fence each other by epoch through its
// lightweight transactions. One host is SIGKILLed under load: nothing
// acknowledged may be lost or stored twice, and seqs stay gapless (a seq whose
// rows died with the host is sealed as a deleted placeholder by the next owner).

const { start: startCluster, senders } = useCluster();

describe('cluster over the Scylla store (CQL emulator over TCP)', () => {
  let server: CqlServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startCqlServer();
    env = { STORE: 'scylla', SCYLLA_CONTACT_POINTS: `127.0.0.1:${server.port}`, SCYLLA_KEYSPACE: 'chat_cluster', SCYLLA_REQUEST_TIMEOUT_MS: '3000' };
    await runMigrate(env);
  });

  afterAll(async () => {
    await server?.close();
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
    const acked = load.acked();
    let checked = 0;
    let placeholders = 0;
    for (const s of list) {
      const history = await fullHistory(s.client, s.conversationId);
      expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
      // A placeholder (a seq claimed by the dead host whose rows never landed) has no clientMsgId.
      const real = history.filter((m) => m.clientMsgId !== '');
      placeholders += history.length - real.length;
      expect(new Set(real.map((m) => m.clientMsgId)).size).toBe(real.length);
      const seqOf = new Map(real.map((m) => [m.clientMsgId, m.seq]));
      for (const r of acked.values()) {
        if (r.conversationId !== s.conversationId) continue;
        expect(seqOf.get(r.clientMsgId), `acknowledged ${r.clientMsgId} is in history with its seq`).toBe(r.seq);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(server.cluster.violations).toEqual([]);
    // Failover time: for each conversation that stalled at the kill, SIGKILL to its first ack after it.
    const stalledFor = list
      .map((s) => {
        const after = [...acked.values()].filter((r) => r.conversationId === s.conversationId && r.answeredAt > killedAt);
        return Math.min(...after.map((r) => r.answeredAt)) - killedAt;
      })
      .filter((ms) => ms > 300);
    console.log(
      `scylla cluster failover: ${stalledFor.length} of ${list.length} conversations stalled, SIGKILL to first ack ${Math.max(0, ...stalledFor)} ms at most ` +
        `(lease TTL ${LEASE_TTL_MS} ms); ${checked} acks checked, ${placeholders} sealed placeholders, ${load.records.filter((r) => !r.ok).length} failed attempts`,
    );
  }, 90_000);
});
