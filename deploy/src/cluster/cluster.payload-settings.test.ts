import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import type { Role } from './local-cluster.js';
import { chatBin } from '../paths.js';

/**
 * Settings the NATS servers cannot carry are refused at start, naming both
 * sides: a gateway whose largest frame, or an actor host whose largest view,
 * would make bus messages over the server's max_payload (which the server
 * refuses, so the sends or changes would fail only later, under load).
 */
const MAX_PAYLOAD = 128 * 1024;
const EXIT_WITHIN_MS = 15_000;
const dir = mkdtempSync(join(tmpdir(), 'chat-payload-settings-'));
let nats: NatsServerProcess;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true, maxPayload: MAX_PAYLOAD });
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `chat <role>` until it exits, or until it says it is ready (then stops it); its exit code, output and whether it got ready. */
function run(role: Role, env: Record<string, string>): Promise<{ code: number | null; output: string; ready: boolean }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NATS_')));
  const child = spawn(process.execPath, [chatBin(), role], {
    env: { ...inherited, LOG_LEVEL: 'info', PORT: '0', OPS_PORT: '0', GRPC_PORT: '0', JWT_SECRET: 'x'.repeat(32), DATA_DIR: mkdtempSync(join(dir, 'data-')), NATS_URL: nats.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let ready = false;
  const onData = (d: Buffer) => {
    output += d;
    if (!ready && /"msg":"[^"]*\bready\b/.test(output)) {
      ready = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat ${role} neither exited nor got ready in ${EXIT_WITHIN_MS} ms:\n${output}`));
    }, EXIT_WITHIN_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ready });
    });
  });
}

describe(`chat roles against a nats-server with max_payload ${MAX_PAYLOAD}`, () => {
  it('a gateway whose MAX_FRAME_BYTES would not fit is refused at start, exit 2, naming both settings', async () => {
    const o = await run('gateway', { MAX_FRAME_BYTES: '200000' });
    expect(o.ready, o.output).toBe(false);
    expect(o.code, o.output).toBe(2);
    expect(o.output).toContain(
      `chat gateway: invalid configuration: MAX_FRAME_BYTES: frames of 200000 bytes make bus messages of up to 216384 bytes, over the NATS server's max_payload of ${MAX_PAYLOAD} bytes; set MAX_FRAME_BYTES to at most 114688 or raise max_payload on every NATS server`,
    );
  });

  it('an actor host whose VIEW_MEMBERS would not fit is refused at start, exit 2, naming both settings', async () => {
    const o = await run('actors', { VIEW_MEMBERS: '2000' });
    expect(o.ready, o.output).toBe(false);
    expect(o.code, o.output).toBe(2);
    expect(o.output).toMatch(/chat actors: invalid configuration: VIEW_MEMBERS: 2000 members make a view of up to \d+ bytes, over the NATS server's max_payload of 131072 bytes; set VIEW_MEMBERS to at most \d+ or raise max_payload/);
  });

  it('the defaults fit, and both roles start', async () => {
    for (const role of ['gateway', 'actors'] as const) {
      const o = await run(role, {});
      expect(o.ready, o.output).toBe(true);
    }
  }, 40_000);
});
