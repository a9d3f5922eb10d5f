import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsText } from '@chat/platform';
import type { OpResult } from '@chat/proto';
import { type Sender, SteadyLoad } from '@chat/testkit/cluster-load';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { restartNatsWithEmptyStore } from '@chat/testkit/servers';
import type { ChatClient } from '@chat/testkit/chat-client';
import { type LivePg, postgresBinDir, startLivePg } from '@chat/testkit/live-pg';

type SearchResult = OpResult<'message.search'>;

/** Why the suite cannot run here (no PostgreSQL server binaries), or undefined. */
const noPg = (() => {
  try {
    postgresBinDir();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
})();
if (noPg) console.warn(`cluster.search-indexer: skipped: ${noPg}`);

const { start: startCluster, senders } = useCluster();

/** Every hit's seq for `query` in one conversation, following `next` to the end. */
async function searchAll(client: ChatClient, conversationId: string, query: string): Promise<number[]> {
  const seqs: number[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await client.call<SearchResult>('message.search', { query, conversationId, limit: 50, ...(before ? { before } : {}) });
    seqs.push(...page.hits.map((h) => h.message.seq));
    if (!page.next) return seqs.sort((a, b) => a - b);
    before = page.next;
  }
}

/**
 * Waits (up to `withinMs`) until a search for `query` in each sender's
 * conversation finds exactly `expected` seqs; fails naming what is missing.
 */
async function expectAllFound(list: Sender[], query: string, expected: Map<string, number[]>, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (const s of list) {
    for (;;) {
      const found = await searchAll(s.client, s.conversationId, query);
      const want = expected.get(s.conversationId)!;
      const missing = want.filter((seq) => !found.includes(seq));
      if (missing.length === 0) {
        // Nothing but what was expected: an edited or deleted message never answers the query.
        expect(found).toEqual(want);
        break;
      }
      if (Date.now() > deadline) expect(missing, `acknowledged messages of ${s.conversationId} not found`).toEqual([]);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The `q` quantile (0..1) of a Prometheus histogram on a /metrics page: the upper bound of the bucket it falls in. */
function histogramQuantile(metricsText: string, name: string, q: number): { value: number; count: number } {
  const buckets = parseMetricsText(metricsText)
    .filter((s) => s.name === `${name}_bucket`)
    .map((s) => ({ le: s.labels['le'] === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels['le']), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const count = buckets.at(-1)?.count ?? 0;
  const rank = q * count;
  return { value: buckets.find((b) => b.count >= rank)?.le ?? Number.NaN, count };
}

describe.skipIf(noPg !== undefined)('cluster: PostgreSQL search kept by `chat indexer` (SEARCH=postgres)', () => {
  let pg: LivePg;
  beforeAll(async () => {
    pg = await startLivePg();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it('indexer SIGKILLed and restarted under load: every acknowledged message is found, an edited one by its new text only, a deleted one never', async () => {
    const c = await startCluster(2, 2, { env: { SEARCH: 'postgres', PG_URL: pg.url } });
    const first = await c.addIndexer();
    const list = await senders(c, 8, 'idx');
    // Bodies are the clientMsgIds, `k-<sender>-<n>`: each has the word "k". Half the conversations
    // are written up to the kill and never after, so no later notice heals what the killed indexer
    // held: only notices delivered again (after the consumer's ack wait, 6 s) or never delivered
    // can bring their last messages in. The other half is written on through the restart.
    const [stopping, going] = [list.slice(0, 4), list.slice(4)];
    const loadA = new SteadyLoad(stopping, { intervalMs: 20, retryForMs: 20_000, tag: 'k' }).start();
    const loadB = new SteadyLoad(going, { intervalMs: 20, retryForMs: 20_000, tag: 'k' }).start();
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    await Promise.all([first.exited, loadA.stop()]);
    await new Promise((r) => setTimeout(r, 1000));
    const second = await c.addIndexer();
    await new Promise((r) => setTimeout(r, 1500));

    // An edit and a delete while the load goes on.
    const [editor] = going;
    await editor!.client.call('message.edit', { conversationId: editor!.conversationId, seq: 1, body: 'walrus renamed' });
    await editor!.client.call('message.delete', { conversationId: editor!.conversationId, seq: 2 });
    await new Promise((r) => setTimeout(r, 500));
    await loadB.stop();

    const acked = [...loadA.acked().values(), ...loadB.acked().values()];
    expect(acked.length).toBeGreaterThan(200);
    const expected = new Map<string, number[]>();
    for (const s of list) {
      const seqs = acked.filter((r) => r.conversationId === s.conversationId).map((r) => r.seq!);
      expected.set(s.conversationId, [...new Set(seqs)].filter((seq) => s !== editor || (seq !== 1 && seq !== 2)).sort((a, b) => a - b));
    }
    // Everything is found once the notices the killed indexer held come back (the ack wait, 6 s).
    await expectAllFound(list, 'k', expected, 20_000);
    expect(await searchAll(editor!.client, editor!.conversationId, 'walrus')).toEqual([1]);

    const metrics = await (await fetch(`${second.opsUrl}/metrics`)).text();
    const lag = histogramQuantile(metrics, 'chat_indexer_lag_seconds', 0.99);
    console.log(`cluster.search-indexer: restarted indexer's lag p99 <= ${lag.value} s over ${lag.count} catch-ups (${acked.length} acknowledged sends; notices redelivered after the ack wait included)`);
    expect(lag.count).toBeGreaterThan(0);
  });

  it('NATS restarted without its JetStream store, with notices the paused indexer had not applied: it reconciles, and every acknowledged message is found', async () => {
    // INDEXER_BATCH=1: the paused indexer holds at most two pulled notices, so most conversations keep none.
    const c = await startCluster(1, 2, { env: { SEARCH: 'postgres', PG_URL: pg.url, INDEXER_BATCH: '1' } });
    const indexer = await c.addIndexer();
    const list = await senders(c, 8, 'lost');
    const load = new SteadyLoad(list, { intervalMs: 30, retryForMs: 30_000, tag: 'n' }).start();
    await new Promise((r) => setTimeout(r, 1000));
    // Paused, the indexer leaves the last second of notices unapplied; no conversation is written
    // after that, so no later notice heals them: NATS loses them with its store, and only the
    // indexer's reconcile can find those messages.
    indexer.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    await restartNatsWithEmptyStore(c.nats, 500);
    indexer.child.kill('SIGCONT');
    await c.waitForShards(20_000);

    const acked = [...load.acked().values()];
    const expected = new Map(list.map((s) => [s.conversationId, [...new Set(acked.filter((r) => r.conversationId === s.conversationId).map((r) => r.seq!))].sort((a, b) => a - b)]));
    await expectAllFound(list, 'n', expected, 30_000);
    const metrics = await (await fetch(`${indexer.opsUrl}/metrics`)).text();
    // One reconcile at the first start, one after the loss.
    expect(parseMetricsText(metrics).find((m) => m.name === 'chat_indexer_reconcile_runs_total' && m.labels['outcome'] === 'done')?.value).toBeGreaterThanOrEqual(2);
  });
});
