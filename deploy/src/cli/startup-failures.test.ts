import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, freePort, startNatsServer } from '@chat/testkit/servers';
import { chatBin } from '../paths.js';

/** How long a failed start may take to exit: it must never hang. */
const EXIT_WITHIN_MS = 15_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `chat <role>` to its exit (failing the test if it outlives EXIT_WITHIN_MS). */
function run(role: string, env: Record<string, string>): Promise<Outcome> {
  const started = performance.now();
  const child = spawn(process.execPath, [chatBin(), role], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chat ${role} still running after ${EXIT_WITHIN_MS} ms:\n${stdout}\n${stderr}`));
    }, EXIT_WITHIN_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Starts `chat <role>` and resolves once it logged that it is ready; `stop()` ends it with SIGTERM. */
async function startRole(role: string, env: Record<string, string>): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, [chatBin(), role], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chat ${role} not ready in time:\n${output}`)), EXIT_WITHIN_MS);
    const onData = (d: Buffer) => {
      output += d;
      if (/ready/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`chat ${role} exited (${code}) before it was ready:\n${output}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** A port held by a plain TCP listener on every interface, as another program would hold it. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '0.0.0.0' }, resolve));
  return { port: (server.address() as { port: number }).port, server };
}

/** One line on stderr, naming what was wrong; no stack trace anywhere. */
function expectOneLine(o: Outcome, role: string, mentions: string[]): void {
  const lines = o.stderr.trim().split('\n');
  expect(lines, o.stderr).toHaveLength(1);
  expect(lines[0]!.startsWith(`chat ${role}: `), lines[0]).toBe(true);
  for (const m of mentions) expect(lines[0]).toContain(m);
  expect(o.stdout + o.stderr).not.toMatch(/\n\s+at /);
}

describe('chat: start-up failures say why and exit', () => {
  let nats: NatsServerProcess;
  let held: { port: number; server: Server };
  const dirs: string[] = [];
  const dataDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'chat-startfail-'));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    held = await takenPort();
  });
  afterAll(async () => {
    held.server.close();
    await nats.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('standalone on a taken port: one line naming the port, exit 1', async () => {
    const o = await run('standalone', { PORT: String(held.port), GRPC_PORT: '0', DATA_DIR: dataDir() });
    expect(o.code).toBe(1);
    expectOneLine(o, 'standalone', [`port ${held.port}`, 'PORT']);
  });

  it('standalone with its gRPC port taken: one line naming it, exit 1', async () => {
    const o = await run('standalone', { PORT: '0', GRPC_PORT: String(held.port), DATA_DIR: dataDir() });
    expect(o.code).toBe(1);
    expectOneLine(o, 'standalone', [String(held.port), 'GRPC_PORT']);
  });

  it('gateway, actors and presence on a taken port: one line naming the port, exit 1, NATS connections closed', async () => {
    const env = { PORT: String(held.port), GRPC_PORT: '0', NATS_URL: nats.url, JWT_SECRET: 'x'.repeat(32), DATA_DIR: dataDir() };
    for (const role of ['gateway', 'actors', 'presence']) {
      const o = await run(role, env);
      expect(o.code, `${role}: ${o.stderr}`).toBe(1);
      expectOneLine(o, role, [`port ${held.port}`]);
    }
  });

  it('a gateway whose ops port is taken: one line naming it and OPS_PORT, exit 1', async () => {
    const o = await run('gateway', { PORT: '0', GRPC_PORT: '0', OPS_PORT: String(held.port), NATS_URL: nats.url, JWT_SECRET: 'x'.repeat(32) });
    expect(o.code, o.stderr).toBe(1);
    expectOneLine(o, 'gateway', [`port ${held.port}`, 'OPS_PORT']);
  });

  it('MAX_CONNECTIONS above what the open-file limit allows: one line naming it and the limit, before anything starts', async () => {
    const o = await run('standalone', { PORT: '0', GRPC_PORT: '0', MAX_CONNECTIONS: '10000000', DATA_DIR: dataDir() });
    expect(o.code, o.stderr).toBe(2);
    expectOneLine(o, 'standalone', ['MAX_CONNECTIONS: 10000000 is more than the open-file limit']);
  });

  it('a role that cannot reach NATS says where it looked, exit 1, without hanging', async () => {
    const nowhere = `nats://127.0.0.1:${await freePort()}`;
    const o = await run('actors', { PORT: '0', NATS_URL: nowhere, DATA_DIR: dataDir() });
    expect(o.code).toBe(1);
    expectOneLine(o, 'actors', ['cannot connect to NATS', nowhere.replace('nats://', '')]);
  });

  it('an actor host or gateway whose SHARDS or LEASE_TTL_MS differ from the running cluster’s refuses to start, naming both values', async () => {
    const base = { PORT: '0', GRPC_PORT: '0', OPS_PORT: '0', NATS_URL: nats.url, JWT_SECRET: 'x'.repeat(32), LEASE_BUCKET: `b${process.pid}_${Date.now()}`, LEASE_TTL_MS: '1000' };
    const first = await startRole('actors', { ...base, SHARDS: '16', DATA_DIR: dataDir() });
    try {
      const shards = await run('actors', { ...base, SHARDS: '32', DATA_DIR: dataDir() });
      expect(shards.code).toBe(2);
      expectOneLine(shards, 'actors', ['SHARDS is 32 here but 16 in the running cluster']);
      const ttl = await run('actors', { ...base, SHARDS: '16', LEASE_TTL_MS: '3000', DATA_DIR: dataDir() });
      expect(ttl.code).toBe(2);
      expectOneLine(ttl, 'actors', ['LEASE_TTL_MS is 3000 here but 1000']);
      const gateway = await run('gateway', { ...base, SHARDS: '64' });
      expect(gateway.code).toBe(2);
      expectOneLine(gateway, 'gateway', ['SHARDS is 64 here but 16']);
      // One that agrees starts.
      await (await startRole('gateway', { ...base, SHARDS: '16' })).stop();
    } finally {
      await first.stop();
    }
    // With every actor host stopped (its lease released on the way out), new values may be recorded.
    await (await startRole('actors', { ...base, SHARDS: '32', DATA_DIR: dataDir() })).stop();
    const old = await run('gateway', { ...base, SHARDS: '16' });
    expect(old.code).toBe(2);
    expectOneLine(old, 'gateway', ['SHARDS is 16 here but 32']);
  });

  it('LEASE_REPLICAS or CHANGES_REPLICAS above what the NATS servers can hold: one line naming the setting, exit 2', async () => {
    const base = { PORT: '0', NATS_URL: nats.url, LEASE_BUCKET: `r${process.pid}_${Date.now()}` };
    const leases = await run('actors', { ...base, LEASE_REPLICAS: '3', DATA_DIR: dataDir() });
    expect(leases.code, leases.stderr).toBe(2);
    expectOneLine(leases, 'actors', ['LEASE_REPLICAS=3', 'at least 3 JetStream servers']);
    const changes = await run('actors', { ...base, SEARCH: 'postgres', PG_URL: 'postgres://127.0.0.1:1/x', CHANGES_REPLICAS: '3', DATA_DIR: dataDir() });
    expect(changes.code, changes.stderr).toBe(2);
    expectOneLine(changes, 'actors', ['CHANGES_REPLICAS=3', 'at least 3 JetStream servers']);
  });

  it('a process whose log reader has gone still stops on SIGTERM, with exit 0', async () => {
    const child = spawn(process.execPath, [chatBin(), 'standalone'], {
      env: { ...process.env, LOG_LEVEL: 'debug', PORT: '0', GRPC_PORT: '0', DATA_DIR: dataDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('chat is ready')) resolve();
      });
      setTimeout(() => reject(new Error(`not ready:\n${out}`)), EXIT_WITHIN_MS);
    });
    // The reader goes away (a log shipper died): every later log line meets EPIPE.
    child.stdout.destroy();
    child.stderr.destroy();
    child.kill('SIGTERM');
    // A hang ends in SIGKILL, which the exit below would show.
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
    const exit = await exited;
    clearTimeout(timer);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('a bad LOG_LEVEL is a setting error before anything starts: one line, exit 2', async () => {
    const o = await run('standalone', { LOG_LEVEL: 'nope', PORT: '0', GRPC_PORT: '0', DATA_DIR: dataDir() });
    expect(o.code).toBe(2);
    expectOneLine(o, 'standalone', ['LOG_LEVEL', '"nope"']);
    expect(o.stdout).toBe('');
  });

  it('SEARCH=postgres is a setting error where no indexer can follow it: standalone refuses it, and the indexer needs it', async () => {
    const pg = { SEARCH: 'postgres', PG_URL: 'postgres://postgres@127.0.0.1:1/chat' };
    const standalone = await run('standalone', { ...pg, PORT: '0', GRPC_PORT: '0', DATA_DIR: dataDir() });
    expect(standalone.code).toBe(2);
    expectOneLine(standalone, 'standalone', ['SEARCH: postgres needs the cluster roles']);
    const indexer = await run('indexer', { PORT: '0', DATA_DIR: dataDir(), NATS_URL: 'nats://127.0.0.1:1' });
    expect(indexer.code).toBe(2);
    expectOneLine(indexer, 'indexer', ['SEARCH', 'SEARCH=postgres and PG_URL']);
    const noUrl = await run('indexer', { SEARCH: 'postgres', PORT: '0', DATA_DIR: dataDir(), NATS_URL: 'nats://127.0.0.1:1' });
    expect(noUrl.code).toBe(2);
    expectOneLine(noUrl, 'indexer', ['PG_URL: required when SEARCH=postgres']);
  });
});
