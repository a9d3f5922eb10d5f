import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, silentLogger, startOpsServer } from '@chat/platform';
import { type RunningSystem, startStandalone } from '../roles/standalone.js';
import { deployRoot } from '../paths.js';
import { HEALTH_PATHS } from './roles.js';

// The paths the probes, health checks and Prometheus use (roles.ts HEALTH_PATHS)
// are served by both HTTP servers a role can have: standalone's public port
// (without OPS_PORT; the same answers, platform answerOps) and the ops server
// of actor hosts, presence and a gateway's OPS_PORT (roles/gateway.test.ts checks
// a gateway's public port refuses them). And the image's health check script
// exits 0 only on a 200.

const healthcheck = join(deployRoot(), 'bin', 'healthcheck.mjs');
const run = promisify(execFile);
async function healthcheckExit(url: string): Promise<number> {
  try {
    await run(process.execPath, [healthcheck, url], { timeout: 10_000 });
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('health endpoints', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'packaging-health-'));
  let standalone: RunningSystem;
  beforeAll(async () => {
    standalone = await startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: 'off', DATA_DIR: dataDir, SQLITE_SYNC: 'normal' });
  });
  afterAll(async () => {
    await standalone?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(HEALTH_PATHS)("the gateway's HTTP server answers %s with 200", async (path) => {
    const res = await fetch(`http://127.0.0.1:${standalone.port}${path}`);
    expect(res.status).toBe(200);
  });

  it("the ops server (actors, presence) answers each path, /readyz 503 until ready; the image's health check follows /readyz", async () => {
    let ready = false;
    const ops = await startOpsServer({ port: 0, registry: createMetricsRegistry('actors'), logger: silentLogger(), ready: () => ready });
    try {
      for (const path of HEALTH_PATHS) expect((await fetch(`http://127.0.0.1:${ops.port}${path}`)).status, path).toBe(path === '/readyz' ? 503 : 200);
      expect(await healthcheckExit(`http://127.0.0.1:${ops.port}/readyz`)).toBe(1);
      ready = true;
      expect((await fetch(`http://127.0.0.1:${ops.port}/readyz`)).status).toBe(200);
      expect(await healthcheckExit(`http://127.0.0.1:${ops.port}/readyz`)).toBe(0);
      expect((await fetch(`http://127.0.0.1:${ops.port}/nope`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });

  it("the image's default health check asks /healthz: a process that is alive but not ready stays healthy", async () => {
    const ops = await startOpsServer({ port: 0, registry: createMetricsRegistry('indexer'), logger: silentLogger(), ready: () => false });
    try {
      const { healthUrl } = (await import(pathToFileURL(healthcheck).href)) as { healthUrl(role: string, env: Record<string, string>): string };
      const url = healthUrl('indexer', { PORT: String(ops.port) });
      expect(new URL(url).pathname).toBe('/healthz');
      expect(await healthcheckExit(url)).toBe(0);
      expect(await healthcheckExit(url.replace('/healthz', '/readyz'))).toBe(1);
    } finally {
      await ops.close();
    }
  });

  it('the health check fails when nothing listens', async () => {
    expect(await healthcheckExit('http://127.0.0.1:1/readyz')).toBe(1);
  });
});
