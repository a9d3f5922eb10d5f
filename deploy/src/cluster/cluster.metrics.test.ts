import { describe, expect, it } from 'vitest';
import { ALL_OPS } from '@chat/proto';
import { type MetricSample, parseMetricsText } from '@chat/platform';
import { useCluster } from '@chat/testkit/cluster-fixture';
import type { LocalCluster } from '../cluster/local-cluster.js';

const { start: startCluster, login } = useCluster();

async function scrapeAll(c: LocalCluster): Promise<Map<string, { role: string; samples: MetricSample[] }>> {
  const out = new Map<string, { role: string; samples: MetricSample[] }>();
  for (const p of c.processes) {
    const res = await fetch(`${p.opsUrl}/metrics`);
    expect(res.status, `${p.name} /metrics`).toBe(200);
    out.set(p.name, { role: p.role, samples: parseMetricsText(await res.text()) });
  }
  return out;
}

/**
 * Scrapes once the periodic work has shown up too: a presence heartbeat from
 * every gateway (every 3 s) and the scrape-time read of the online users.
 */
async function settledScrape(c: LocalCluster): Promise<Map<string, { role: string; samples: MetricSample[] }>> {
  await new Promise((r) => setTimeout(r, 3500));
  await scrapeAll(c);
  return scrapeAll(c);
}

const value = (samples: MetricSample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

/** Every label name any role may use: a new one (a user id, say) fails this test until it is added here on purpose. */
const ALLOWED_LABELS = new Set([
  // ours
  'op', 'outcome', 'reason', 'kind', 'target', 'role', 'version', 'revision', 'event',
  // histograms and prom-client's process metrics
  'le', 'space', 'type', 'major', 'minor', 'patch',
]);

/** What one round of ordinary traffic does, with new users and conversations each time. */
async function traffic(c: LocalCluster, round: number): Promise<{ ids: string[]; online: number }> {
  const [g0, g1] = c.gateways;
  const users = await Promise.all([0, 1, 2, 3].map((i) => login((i % 2 ? g1 : g0)!.url, `Metrics ${round}.${i}`)));
  const [a, b, d, e] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
  const { conversation: dm } = await a.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: b.user.id });
  const { conversation: group } = await a.call<{ conversation: { id: string } }>('conversation.create_group', { title: `g${round}`, members: [d.user.id, e.user.id] });
  for (let i = 0; i < 3; i++) await a.call('message.send', { conversationId: dm.id, clientMsgId: `dm-${round}-${i}`, body: `hello ${i}` });
  await d.call('message.send', { conversationId: group.id, clientMsgId: `d-${round}`, body: 'from d' });
  await b.waitForEvents((ev) => ev.ev === 'message.new', 3, 10_000);
  await a.call('message.history', { conversationId: dm.id, limit: 10 });
  await a.call('conversation.list', {});
  await a.call('presence.get', { userIds: [b.user.id, d.user.id] });
  await a.request('typing', { conversationId: dm.id, active: true });
  // Stopped explicitly: an expiry would add its series whenever the lease happened to run out.
  await a.request('typing', { conversationId: dm.id, active: false });
  // A refused op, so error outcomes are in the figures too.
  await e.request('message.send', { conversationId: dm.id, clientMsgId: `x-${round}`, body: 'not a member' });
  return { ids: [...users.map((u) => u.user.id), dm.id, group.id], online: users.length };
}

describe('cluster: metrics an SRE reads', () => {
  it('every role reports its build, NATS state and figures, with label values from fixed sets only, however many users and conversations there are', async () => {
    const c = await startCluster(2, 2, { redis: true });
    const first = await traffic(c, 1);
    const after1 = await settledScrape(c);

    for (const [name, { role, samples }] of after1) {
      const build = samples.filter((s) => s.name === 'chat_build_info');
      expect(build, `${name} chat_build_info`).toHaveLength(1);
      expect(build[0]!.labels).toMatchObject({ role, version: expect.any(String), revision: expect.any(String) });
      expect(value(samples, 'chat_nats_connected'), `${name} connected to NATS`).toBe(1);
      expect(samples.some((s) => s.name === 'chat_nats_reconnects_total'), `${name} chat_nats_reconnects_total`).toBe(true);
      expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds'), `${name} event-loop lag`).toBe(true);
      for (const s of samples) {
        for (const [label, v] of Object.entries(s.labels)) {
          expect(ALLOWED_LABELS.has(label), `${name}: ${s.name} has label ${label}`).toBe(true);
          for (const id of first.ids) expect(v.includes(id), `${name}: ${s.name}{${label}} carries the id ${id}`).toBe(false);
        }
      }
    }

    const of = (role: string) => [...after1.values()].filter((p) => p.role === role).map((p) => p.samples);
    // Shards: every host knows how many there are; together they own all of them.
    const actors = of('actors');
    for (const s of actors) expect(value(s, 'chat_shards_total')).toBe(32);
    expect(actors.reduce((sum, s) => sum + value(s, 'chat_shards_owned'), 0)).toBe(32);
    expect(actors.reduce((sum, s) => sum + value(s, 'chat_shard_acquisitions_total'), 0)).toBeGreaterThanOrEqual(32);
    // Actor hosts and gateways name ops alike, so their series join on `op`.
    const known = new Set<string>(ALL_OPS);
    const actorOps = new Set(actors.flatMap((s) => s.filter((x) => x.name === 'chat_actor_requests_total').map((x) => x.labels.op!)));
    expect(actorOps.has('message.send')).toBe(true);
    expect(actorOps.has('conversation.open_dm')).toBe(true);
    for (const op of actorOps) expect(known.has(op) || op.startsWith('internal.'), `actor op label ${op}`).toBe(true);
    expect(actors.reduce((sum, s) => sum + value(s, 'chat_actor_requests_total', { op: 'message.send', outcome: 'forbidden' }), 0)).toBe(1);
    // Presence: the users online in the whole cluster, the same figure from every instance, and Redis up.
    for (const s of of('presence')) {
      expect(value(s, 'chat_presence_online_users')).toBe(first.online);
      expect(value(s, 'chat_presence_backend_up')).toBe(1);
    }
    // Deliveries count recipients only: the DM's three messages reached b once each (the sender's echo is not a delivery).
    const delivered = of('gateway').reduce((sum, s) => sum + value(s, 'chat_gateway_events_delivered_total'), 0);
    const observed = of('gateway').reduce((sum, s) => sum + value(s, 'chat_delivery_latency_seconds_count'), 0);
    expect(observed).toBe(delivered);
    expect(delivered).toBeGreaterThanOrEqual(3);

    // A second round with new users and conversations adds no series: nothing is keyed by who or where.
    const second = await traffic(c, 2);
    const after2 = await settledScrape(c);
    // Per role: which host of a role serves a conversation is the shard's business.
    const chatSeries = (m: Map<string, { role: string; samples: MetricSample[] }>) =>
      [...new Set([...m.values()].flatMap(({ role, samples }) => samples.filter((s) => s.name.startsWith('chat_')).map((s) => `${role} ${s.name}${JSON.stringify(s.labels)}`)))].sort();
    expect(chatSeries(after2)).toEqual(chatSeries(after1));
    for (const [, { role, samples }] of after2) if (role === 'presence') expect(value(samples, 'chat_presence_online_users')).toBe(first.online + second.online);
  });
});
