import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** What a local server needs: a binary, its arguments, and where it listens. */
export interface ServerSpec {
  /** Name for messages, e.g. `nats-server`. */
  name: string;
  /** Absolute path of the binary (see findBinary). */
  binary: string;
  /** Arguments, given the port and the temporary directory. */
  args(port: number, dir: string): string[];
  /** Port to listen on (default: a free port chosen at start). */
  port?: number;
  /** Run in a process group of its own, so a terminal's Ctrl-C does not reach it. Default false. */
  ownProcessGroup?: boolean;
  /** Variables added to the server's environment (this process's otherwise). */
  env?: Record<string, string>;
}

/** A real server child process on 127.0.0.1 (nats-server, redis-server), started by the local cluster launcher or by tests. */
export interface ServerProcess {
  readonly port: number;
  /** Temporary directory; kept across restart(), removed by stop(). */
  readonly dir: string;
  /** PID of the current server process (changes on restart()). */
  readonly pid: number;
  /** Stops the server with SIGTERM, waits for it to exit and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends a signal to the server (default SIGKILL) and waits for it to exit. SIGSTOP,
   * SIGTSTP and SIGCONT only pause or resume it, so they resolve once sent.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and directory (stopping it first if it still runs). */
  restart(): Promise<void>;
  /** What the server wrote to stdout and stderr so far (the latest part of it), for failure messages. */
  output(): string;
}

/** How long the server gets to accept connections before start fails. */
const READY_TIMEOUT_MS = 20_000;
/** How long SIGTERM gets before stop() resorts to SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** Server output kept in memory; older output is dropped so a chatty server cannot grow without bound. */
const OUTPUT_LIMIT = 64 * 1024;
const PAUSE_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGSTOP', 'SIGTSTP', 'SIGCONT']);

/** Children still running, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

/**
 * Starts a server binary with a temporary directory and resolves once it
 * accepts TCP connections on its port. Fails with the server's output if it
 * exits or does not become ready in time. Servers left running are killed
 * when this process exits.
 */
export async function startServerProcess(spec: ServerSpec): Promise<ServerProcess> {
  const port = spec.port ?? (await freePort());
  const dir = await mkdtemp(join(tmpdir(), `${spec.name}-`));
  installExitHook();
  liveDirs.add(dir);

  const args = spec.args(port, dir);
  let output = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;

  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(output.length - OUTPUT_LIMIT);
  };

  const launch = async (): Promise<void> => {
    const proc = spawn(spec.binary, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: spec.ownProcessGroup ?? false,
      ...(spec.env ? { env: { ...process.env, ...spec.env } } : {}),
    });
    child = proc;
    live.add(proc);
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        hasExited = true;
        live.delete(proc);
        append(Buffer.from(`\n[${spec.name} exited: code ${code ?? 'none'}, signal ${signal ?? 'none'}]\n`));
        resolve();
      });
    });
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    spawnError.catch(() => {});
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (hasExited) throw new Error(`${spec.name} ${args.join(' ')} exited before accepting connections:\n${output}`);
      if (await Promise.race([canConnect(port), spawnError])) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited;
        throw new Error(`${spec.name} ${args.join(' ')} did not accept connections within ${READY_TIMEOUT_MS} ms:\n${output}`);
      }
      await sleep(25);
    }
  };

  const running = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    if (!running()) return;
    child!.kill(signal);
    await exited;
  };

  /** SIGTERM, then SIGKILL if the server has not exited in time; a paused server gets SIGCONT first so it can handle SIGTERM. */
  const terminate = async (): Promise<void> => {
    if (!running()) return;
    child!.kill('SIGCONT');
    child!.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS);
    });
    const late = await Promise.race([exited.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) await signalAndWait('SIGKILL');
  };

  await launch();

  return {
    port,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (PAUSE_SIGNALS.has(signal)) {
        if (running()) child!.kill(signal);
        return;
      }
      await signalAndWait(signal);
    },
    async restart() {
      if (stopped) throw new Error(`this ${spec.name} was stopped and its directory removed; start a new one`);
      await terminate();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await terminate();
      await rm(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
}

/**
 * The path of `name` on PATH or in the usual system directories (or in `dirs`,
 * for tests); throws an error naming the Debian package to install when it is missing.
 */
export function findBinary(name: string, debianPackage: string, dirs: string[] = defaultBinaryDirs()): string {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} not found on PATH or in /usr/sbin: install the Debian package \`${debianPackage}\` (apt-get install ${debianPackage})`);
}

function defaultBinaryDirs(): string[] {
  return [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'].filter((d) => d.length > 0);
}

/** A port that was free a moment ago: the kernel picks one for a listener that is closed at once. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Kills servers and removes directories left behind (a test that forgot to stop one, a launcher exiting), so no server outlives its owner. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) {
      try {
        proc.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}
