import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Smoke run of the load generator against a real standalone server: it
 * completes, prints its table and writes its JSON and SVG, with server CPU
 * per message, the warm-up and the verdict. No timing thresholds: benchmarks
 * are measured, not asserted: the passing run's target is 60 s (a message
 * that late would count as lost anyway), the failing one's 1 µs, which no
 * delivery through a server can meet.
 */

interface Result {
  sent: number;
  received: number;
  errors: number;
  lost: number;
  ok: boolean;
  verdict: { pass: boolean; reasons: string[] };
  target: { p99Ms: number; appliesTo: string };
  warmup: { seconds: number; sent: number; acked: number; received: number; expected: number; lost: number };
  latency: { delivery: { count: number } };
  cpu: { perProcess: Array<{ pid: number; cpuSeconds: number | null }>; totalSeconds: number | null; usPerDelivered: number | null; notMeasured: string[] };
}

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
      env: { ...process.env, PORT: String(port), GRPC_PORT: 'off', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' },
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

  const readResult = (out: string, context: string): { report: Result; svg: string } => {
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-dm-latency.json'));
    const svg = files.find((f) => f.endsWith('-dm-latency.svg'));
    expect(json, context).toBeDefined();
    expect(svg, context).toBeDefined();
    expect(existsSync(join(out, svg!))).toBe(true);
    return { report: JSON.parse(readFileSync(join(out, json!), 'utf8')) as Result, svg: readFileSync(join(out, svg!), 'utf8') };
  };

  it('runs dm-latency and reports every message delivered, the server CPU per message and a PASS', async () => {
    const out = join(dir, 'results');
    const result = await run(['bench/run.mjs', 'load', 'dm-latency', '--url', url, '--users', '50', '--duration', '5', '--warmup', '1', '--p99-ms', '60000', '--workers', '1', '--out', out]);
    const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    expect(result.code, context).toBe(0);
    expect(result.stdout).toMatch(/latency \(ms\).*p99/);
    expect(result.stdout).toMatch(/^delivery\s+\d+\s+\d/m);
    expect(result.stdout).toMatch(/^server cpu\s+[\d.]+ µs per delivered message/m);
    expect(result.stdout).toMatch(/^verdict\s+PASS \(delivery p99 [\d.]+ ms ≤ target 60000 ms, 0 lost, 0 errors\)$/m);

    const { report, svg } = readResult(out, context);
    expect(report.sent).toBeGreaterThan(0);
    expect(report.received).toBe(report.sent);
    expect(report.errors).toBe(0);
    expect(report.lost).toBe(0);
    // The warm-up's messages were sent and all arrived, but only the measured window's are in the latency figures.
    expect(report.warmup).toMatchObject({ seconds: 1, lost: 0 });
    expect(report.warmup.sent).toBeGreaterThan(0);
    expect(report.warmup.received).toBe(report.warmup.sent);
    expect(report.latency.delivery.count).toBe(report.received);
    // The standalone server this test started is found by its port and its CPU is measured.
    expect(report.cpu.perProcess.map((p) => p.pid)).toEqual([server.pid]);
    expect(report.cpu.notMeasured).toEqual([]);
    expect(report.cpu.totalSeconds).toBeGreaterThan(0);
    expect(report.cpu.usPerDelivered).toBeGreaterThan(0);
    expect(report.target).toEqual({ p99Ms: 60000, appliesTo: 'delivery p99' });
    expect(report.verdict.pass).toBe(true);
    expect(report.ok).toBe(true);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('p99 target 60000 ms');
    expect(svg).toContain('warm-up ends');
  }, 40_000);

  it('exits 1 with a FAIL verdict when p99 is over --p99-ms, though nothing was lost', async () => {
    const out = join(dir, 'results-fail');
    const args = ['bench/run.mjs', 'load', 'dm-latency', '--url', url, '--users', '10', '--duration', '1', '--warmup', '0', '--p99-ms', '0.001'];
    const result = await run([...args, '--workers', '1', '--out', out]);
    const context = `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    expect(result.code, context).toBe(1);
    expect(result.stdout).toMatch(/^verdict\s+FAIL: delivery p99 [\d.]+ ms > target 0.001 ms$/m);
    const { report } = readResult(out, context);
    expect(report.lost).toBe(0);
    expect(report.errors).toBe(0);
    expect(report.warmup.sent).toBe(0);
    expect(report.verdict).toEqual({ pass: false, reasons: [expect.stringMatching(/^delivery p99 .* > target 0.001 ms$/)] });
  }, 30_000);
});
