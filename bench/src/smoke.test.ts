import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Smoke run of the load generator against a real standalone server: it
 * completes, prints its table and writes its JSON and SVG. No timing
 * thresholds: benchmarks are measured, not asserted.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench load generator', () => {
  let server: ChildProcess;
  let url = '';
  let serverOutput = '';
  const dir = mkdtempSync(join(tmpdir(), 'chat-bench-'));

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ['deploy/bin/chat.mjs', 'standalone'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (serverOutput += String(d)));
    server.stderr!.on('data', (d) => (serverOutput += String(d)));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`server exited early:\n${serverOutput}`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`server not ready:\n${serverOutput}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs dm-latency and reports every message delivered', async () => {
    const out = join(dir, 'results');
    const result = await run(['bench/run.mjs', 'load', 'dm-latency', '--url', url, '--users', '50', '--duration', '5', '--workers', '1', '--out', out]);
    const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    expect(result.code, context).toBe(0);
    expect(result.stdout).toMatch(/latency \(ms\).*p99/);
    expect(result.stdout).toMatch(/^delivery\s+\d+\s+\d/m);

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-dm-latency.json'));
    const svg = files.find((f) => f.endsWith('-dm-latency.svg'));
    expect(json, context).toBeDefined();
    expect(svg, context).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, json!), 'utf8')) as { sent: number; received: number; errors: number; lost: number };
    expect(report.sent).toBeGreaterThan(0);
    expect(report.received).toBe(report.sent);
    expect(report.errors).toBe(0);
    expect(report.lost).toBe(0);
    expect(existsSync(join(out, svg!))).toBe(true);
    expect(readFileSync(join(out, svg!), 'utf8').startsWith('<svg')).toBe(true);
  }, 30_000);
});
