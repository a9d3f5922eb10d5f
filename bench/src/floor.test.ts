import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Smoke run of the floor bench (floor.ts): each stage relays every message of
 * a few DM pairs to its partner and reports the relay's CPU per delivered
 * message; grpc-floor (grpc-floor.ts) answers every unary call. No timing
 * thresholds: they are measured, not asserted.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('bench floor', () => {
  it.each(['relay', 'thread', 'sqlite'])('%s: relays every message and reports CPU per message', (stage) => {
    const run = spawnSync(process.execPath, ['bench/run.mjs', 'floor', '--stage', stage, '--pairs', '5', '--rate', '20', '--duration', '1', '--warmup', '0.5'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const delivered = Number(/delivered (\d+) .*lost (\d+)/.exec(run.stdout)?.[1]);
    expect(delivered).toBeGreaterThan(150); // 10 senders × 20/s × 1 s, less the window's edges
    expect(run.stdout).toMatch(/lost 0\n/);
    expect(run.stdout).toMatch(/relay process cpu \d+\.\d+ s = \d+\.\d µs per delivered message/);
  });

  it('grpc-floor: answers every call and reports call latency and CPU per call', () => {
    const run = spawnSync(process.execPath, ['bench/run.mjs', 'grpc-floor', '--rate', '100', '--callers', '10', '--duration', '1', '--warmup', '0.5', '--p99-ms', '1000'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/call → reply p50 \d+\.\d+ ms, p90 \d+\.\d+ ms, p99 \d+\.\d+ ms, max \d+\.\d ms; errors 0\n/);
    expect(run.stdout).toMatch(/server process cpu \d+\.\d+ s = \d+\.\d µs per call/);
    expect(run.stdout).toContain('PASS: call p99');
  });

  it('refuses an unknown stage with its usage', () => {
    const run = spawnSync(process.execPath, ['bench/run.mjs', 'floor', '--stage', 'nope'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('usage: node bench/run.mjs floor');
  });
});
