import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { type LivePg, startLivePg } from '@chat/testkit/live-pg';
import type { LocalCluster } from '../cluster/local-cluster.js';
import { deployRoot } from '../paths.js';
import { LATENCY_RECORDING_RULES, grafanaDashboardFile, prometheusRulesFile, recordedNames } from '../observability/prometheus-files.js';
import { SYNTHETIC_SERIES, dashboardQueries, exposedNames, metricNamesIn } from '../observability/promql-names.js';

const { start: startCluster, login } = useCluster();

const MESSAGES = 15;

/** The p99s (and p50) and rates of rules.yml that the traffic below must give a value. */
const RECORDED_WITH_TRAFFIC = [
  ...LATENCY_RECORDING_RULES,
  'chat:messages_in:rate1m',
  'chat:events_delivered:rate1m',
  // Every shard was acquired (free) at start, within the rule's 5 minutes.
  'chat:shard_acquisitions:increase5m',
  // The indexer caught the conversations up as the messages came.
  'chat:indexer_lag_seconds:p99_1m',
];

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prometheus: string, expr: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** Polls until `check` returns no complaint, or fails with the last one. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let complaint: string | undefined;
  for (;;) {
    complaint = await check().catch((err: Error) => err.message);
    if (complaint === undefined) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms: ${complaint}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Logins and messages between users on different gateways: DMs and a group,
 * with every delivery awaited. Spread over several scrape intervals: a rate
 * needs the counters to rise between two scrapes, and a labelled histogram's
 * series appears only with its first observation.
 */
async function driveTraffic(c: LocalCluster): Promise<void> {
  const [g1, g2] = c.gateways;
  const ann = await login(g1!.url, 'Ann Metrics');
  const bob = await login(g2!.url, 'Bob Metrics');
  const cat = await login(g1!.url, 'Cat Metrics');
  const dan = await login(g2!.url, 'Dan Metrics');
  const { conversation: dm } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
  const { conversation: group } = await cat.call<{ conversation: { id: string } }>('conversation.create_group', {
    title: 'metrics',
    members: [bob.user.id, dan.user.id, ann.user.id],
  });
  for (let i = 0; i < MESSAGES; i++) {
    await Promise.all([
      ann.call('message.send', { conversationId: dm.id, clientMsgId: `dm-a${i}`, body: `ann ${i}` }),
      bob.call('message.send', { conversationId: dm.id, clientMsgId: `dm-b${i}`, body: `bob ${i}` }),
      cat.call('message.send', { conversationId: group.id, clientMsgId: `g-c${i}`, body: `cat ${i}` }),
    ]);
    await new Promise((r) => setTimeout(r, 400));
  }
  const isNew = (id: string) => (e: { ev: string; message?: unknown }) => e.ev === 'message.new' && (e.message as { conversationId: string }).conversationId === id;
  await Promise.all([
    ann.waitForEvents(isNew(dm.id), MESSAGES * 2, 20_000),
    bob.waitForEvents(isNew(dm.id), MESSAGES * 2, 20_000),
    dan.waitForEvents(isNew(group.id), MESSAGES, 20_000),
  ]);
  await dan.call('presence.get', { userIds: [ann.user.id, bob.user.id] });
}

describe('cluster: observability (Prometheus scraping every role, the shipped rules and dashboard)', () => {
  // Every role, the search indexer included: it needs SEARCH=postgres and a PostgreSQL (CI installs one).
  let pg: LivePg | undefined;
  beforeAll(async () => {
    pg = await startLivePg();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('every target is up, the recording rules have values after traffic, and every metric the dashboard reads is on a live /metrics page or in rules.yml', async () => {
    const c = await startCluster(2, 2, { redis: true, env: { SEARCH: 'postgres', PG_URL: pg!.url }, observability: { intervalSeconds: 1 } });
    await c.addIndexer();
    expect(new Set(c.processes.map((p) => p.role))).toEqual(new Set(['gateway', 'actors', 'presence', 'indexer']));
    const prometheus = c.prometheus!.url;

    // Every process of the cluster is a target, and up.
    await eventually('every target up', 20_000, async () => {
      const res = (await (await fetch(`${prometheus}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string; instance: string }; health: string; lastError: string }[] } };
      const targets = res.data.activeTargets;
      const expected = c.processes.map((p) => `chat-${p.role} 127.0.0.1:${p.opsPort}`).sort();
      const got = targets.map((t) => `${t.labels.job} ${t.labels.instance}`).sort();
      if (JSON.stringify(got) !== JSON.stringify(expected)) return `targets ${got.join(', ')}; expected ${expected.join(', ')}`;
      const down = targets.filter((t) => t.health !== 'up');
      return down.length ? `not up: ${down.map((t) => `${t.labels.instance} ${t.health} ${t.lastError}`).join('; ')}` : undefined;
    });
    const up = await query(prometheus, 'up');
    expect(up.map((s) => s.value[1])).toEqual(c.processes.map(() => '1'));

    // Traffic once every role has been scraped, so the counters' rise falls between scrapes.
    await driveTraffic(c);

    // The recording rules, read back through the HTTP API, have finite values.
    await eventually('recording rules with values', 30_000, async () => {
      const missing: string[] = [];
      for (const name of RECORDED_WITH_TRAFFIC) {
        const samples = await query(prometheus, name);
        if (!samples.some((s) => Number.isFinite(Number(s.value[1])))) missing.push(`${name} ${JSON.stringify(samples.map((s) => s.value[1]))}`);
      }
      return missing.length ? missing.join('; ') : undefined;
    });
    const p99 = Number((await query(prometheus, 'chat:delivery_latency_seconds:p99_1m'))[0]!.value[1]);
    expect(p99).toBeGreaterThan(0);
    console.log(`delivery p99 over the last minute: ${(p99 * 1000).toFixed(1)} ms`);

    // Every metric name a dashboard query reads: a recording rule of rules.yml (whose own inputs are
    // live), a series Prometheus makes itself (up), or a family on some role's live /metrics page.
    const rules = readFileSync(prometheusRulesFile(), 'utf8');
    const recorded = new Set(recordedNames(rules));
    const live = new Set<string>();
    for (const p of c.processes) for (const n of exposedNames(await (await fetch(`${p.opsUrl}/metrics`)).text())) live.add(n);
    const ruleInputs = [...rules.matchAll(/^\s*-\s*record:\s*(\S+)\s*\n\s*expr:\s*(.+)$/gm)].map((m) => ({ name: m[1]!, expr: m[2]! }));
    const dashboard = JSON.parse(readFileSync(grafanaDashboardFile(), 'utf8')) as unknown;
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const { panel, expr } of queries) {
      for (const name of metricNamesIn(expr)) {
        if (SYNTHETIC_SERIES.has(name) || live.has(name)) continue;
        if (recorded.has(name)) {
          const inputs = ruleInputs.filter((r) => r.name === name).flatMap((r) => metricNamesIn(r.expr));
          for (const input of inputs) if (!live.has(input)) missing.push(`${panel}: ${name} reads ${input}, on no /metrics page`);
          continue;
        }
        missing.push(`${panel}: ${name} (${expr}) is on no /metrics page and in no recording rule`);
      }
    }
    expect(missing).toEqual([]);

    // Every panel query is valid PromQL to Prometheus: the panel-values script evaluates them all (exit 1 on an error).
    const script = join(deployRoot(), 'grafana', 'panel-values.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--prometheus', prometheus, '--json']);
    const rows = JSON.parse(stdout) as { panel: string; query: string; value: string }[];
    expect(rows).toHaveLength(queries.length);
    expect(rows.filter((r) => r.value.startsWith('ERROR'))).toEqual([]);
    expect(rows.find((r) => r.query === 'chat:delivery_latency_seconds:p99_1m')!.value).toMatch(/^\d/);
    console.log(rows.map((r) => `${r.panel} | ${r.query} | ${r.value}`).join('\n'));
  }, 150_000);
});
