import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@chat/platform';
import { chatBin, freePort, startStandalone } from '@chat/deploy';


const CHAT_BIN = chatBin();

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'chat-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface InProcessSystem {
  baseUrl: string;
  port: number;
  /** Where /healthz, /readyz and /metrics answer: the OPS_PORT's URL where the test's env sets one, else baseUrl. */
  opsUrl: string;
  /** The gRPC API's port (GRPC_PORT 0 unless the test's env says otherwise); undefined when off. */
  grpcPort: number | undefined;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the standalone system inside the test process, on a random port. */
export async function startInProcess(options: { dataDir: string; env?: Record<string, string> }): Promise<InProcessSystem> {
  const system = await startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: '0', DATA_DIR: options.dataDir, ...options.env });
  const baseUrl = `http://127.0.0.1:${system.port}`;
  const opsUrl = `http://127.0.0.1:${system.opsPort ?? system.port}`;
  return { baseUrl, port: system.port, opsUrl, grpcPort: system.grpcPort, dataDir: options.dataDir, stop: () => system.stop() };
}

export interface ChatProcess {
  baseUrl: string;
  /** Where /healthz, /readyz and /metrics answer: `opsPort`'s URL, else baseUrl. */
  opsUrl: string;
  process: ChildProcess;
  /** Everything the process wrote, for assertions and failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the real `chat standalone` command (the bundle `npm start` runs) as
 * a child process and waits until /readyz answers, so tests can SIGKILL and
 * SIGTERM it like an operator would. `opsPort: true` serves the ops endpoints
 * on a free OPS_PORT of their own; `wrapper` runs it under another command
 * (e.g. `['prlimit', '--nofile=400:400', '--']`).
 */
export async function startProcess(options: { dataDir: string; port?: number; opsPort?: boolean; env?: Record<string, string>; wrapper?: string[] }): Promise<ChatProcess> {
  const port = options.port ?? (await freePort());
  const opsPort = options.opsPort ? await freePort() : undefined;
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, '--enable-source-maps', CHAT_BIN, 'standalone'];
  const child = spawn(command!, args, {
    env: { ...process.env, PORT: String(port), ...(opsPort ? { OPS_PORT: String(opsPort) } : {}), GRPC_PORT: 'off', DATA_DIR: options.dataDir, LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // A command that cannot be run at all (a wrapper that is not installed) fails the start, naming it.
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const opsUrl = `http://127.0.0.1:${opsPort ?? port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot run ${command}: ${spawnError.message}`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`chat exited before ready (code ${child.exitCode}, signal ${child.signalCode}):\n${output}`);
    try {
      const res = await fetch(`${opsUrl}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`chat not ready within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { baseUrl, opsUrl, process: child, output: () => output, exited };
}

/** Creates a bot account with the real `chat bot create` in `dataDir` (a standalone system's), as an operator would. */
export async function createBot(dataDir: string, name: string): Promise<{ userId: string; token: string }> {
  const child = spawn(process.execPath, [CHAT_BIN, 'bot', 'create', '--name', name], { env: { ...process.env, DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`chat bot create exited with ${code}: ${out}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as { userId: string; token: string };
}
