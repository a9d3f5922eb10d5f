import { existsSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parse } from 'yaml';
import { prometheusDir, prometheusRulesFile } from '../observability/prometheus-files.js';
import { JOBS, type PrometheusServerProcess, startPrometheusServer } from './prometheus-server.js';

/** A /metrics page with one gauge, like a role's. */
function fakeRole(value: number): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(req.url === '/metrics' ? `# TYPE chat_fake gauge\nchat_fake ${value}\n` : '');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as { port: number }).port}` })));
}

async function upByInstance(url: string): Promise<Record<string, string>> {
  const body = (await (await fetch(`${url}/api/v1/query?query=up`)).json()) as { data: { result: { metric: { job: string; instance: string }; value: [number, string] }[] } };
  return Object.fromEntries(body.data.result.map((r) => [`${r.metric.job} ${r.metric.instance}`, r.value[1]]));
}

async function until<T>(timeoutMs: number, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('startPrometheusServer (Debian prometheus)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('scrapes its targets with the shipped rules, picks up targets added later, and removes its data on stop', async () => {
    const a = await fakeRole(1);
    const b = await fakeRole(2);
    cleanups.push(async () => a.server.close(), async () => b.server.close());
    const prometheus: PrometheusServerProcess = await startPrometheusServer({ intervalSeconds: 1, targets: [{ job: 'chat-gateway', address: a.address }] });
    cleanups.push(() => prometheus.stop());

    expect(prometheus.url).toBe(`http://127.0.0.1:${prometheus.port}`);
    const config = readFileSync(prometheus.configFile, 'utf8');
    expect(config).toContain('scrape_interval: 1s');
    expect(config).toContain(JSON.stringify(prometheusRulesFile()));
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { name: string; file: string }[] } };
    expect(rules.data.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['chat-latency', 'chat-alerts']));

    expect(await until(15_000, () => upByInstance(prometheus.url), (u) => u[`chat-gateway ${a.address}`] === '1')).toEqual({ [`chat-gateway ${a.address}`]: '1' });

    prometheus.setTargets([
      { job: 'chat-gateway', address: a.address },
      { job: 'chat-actors', address: b.address },
    ]);
    expect(await until(20_000, () => upByInstance(prometheus.url), (u) => u[`chat-actors ${b.address}`] === '1')).toEqual({
      [`chat-gateway ${a.address}`]: '1',
      [`chat-actors ${b.address}`]: '1',
    });

    await prometheus.stop();
    expect(existsSync(prometheus.dir)).toBe(false);
  }, 60_000);

  it('has a job for each job of deploy/prometheus/prometheus.yml, so a role added to a running cluster is scraped', () => {
    const reference = parse(readFileSync(join(prometheusDir(), 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    expect([...JOBS].sort()).toEqual(reference.scrape_configs.map((j) => j.job_name).sort());
  });

  it('refuses a scrape interval it cannot use', async () => {
    await expect(startPrometheusServer({ intervalSeconds: 0 })).rejects.toThrow(/scrape interval/);
  });
});
