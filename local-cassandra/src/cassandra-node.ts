import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'cassandra-driver';
import { CassandraStartError } from './errors.js';
import { findJava } from './java.js';
import { LOGBACK_XML, jvmOptions } from './jvm-options.js';
import { cassandraYaml } from './cassandra-yaml.js';
import { resolveCassandraJars } from './maven-artifacts.js';
import { assertPortFree, freePort } from './ports.js';

/** The data centre SimpleSnitch reports (cassandra-yaml.ts): what a client's localDataCenter must say. */
export const LOCAL_DATA_CENTER = 'datacenter1';

export interface CassandraNodeOptions {
  /** CQL port on 127.0.0.1; default a free one. A taken port fails with PortTakenError. */
  cqlPort?: number;
  /** JVM heap (-Xms and -Xmx); default 512m. */
  heap?: string;
  /** cassandra-all version; default CASSANDRA_VERSION. */
  version?: string;
  /** The jar cache (see resolveCassandraJars). */
  cacheDir?: string;
  /** How long the node gets to accept CQL connections; default 180 s (a loaded two-core machine). */
  readyTimeoutMs?: number;
  /** Progress lines: resolving, starting, ready. */
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** A running local node. */
export interface CassandraNode {
  readonly cqlPort: number;
  /** `127.0.0.1:<cqlPort>`, as SCYLLA_CONTACT_POINTS takes it. */
  readonly contactPoint: string;
  /** Cassandra's release as the node reports it (system.local). */
  readonly releaseVersion: string;
  /** The temporary directory (data, commit log, cassandra.yaml); removed by stop(). */
  readonly dir: string;
  /** Everything the JVM wrote (logback at INFO, and the JVM's own complaints). */
  readonly logFile: string;
  readonly pid: number;
  /** Resolves when the JVM exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (Cassandra drains and flushes), SIGKILL if it has not exited in time, then removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * How long SIGTERM gets: a draining node flushes its memtables first (4-6 s
 * measured here). Under the 15 s the `chat` command allows its shutdown.
 */
const STOP_TIMEOUT_MS = 10_000;
const LOG_TAIL_LINES = 40;

/** JVMs still running, killed if this process exits without stopping them, so no node outlives its owner. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Starts one Apache Cassandra node on 127.0.0.1: checks Java, resolves the
 * jars from Maven Central (once), writes cassandra.yaml and logback.xml into a
 * temporary directory, runs org.apache.cassandra.service.CassandraDaemon with
 * the Java 17 options, and resolves once a CQL client can connect and query.
 */
export async function startCassandraNode(options: CassandraNodeOptions = {}): Promise<CassandraNode> {
  const log = options.log ?? (() => undefined);
  const java = findJava(options.env);
  const lib = await resolveCassandraJars({ ...options, log });
  let cqlPort: number;
  if (options.cqlPort !== undefined) {
    await assertPortFree(options.cqlPort);
    cqlPort = options.cqlPort;
  } else {
    cqlPort = await freePort();
  }
  const storagePort = await freePort();

  const dir = await mkdtemp(join(tmpdir(), 'chat-cassandra-'));
  const configFile = join(dir, 'cassandra.yaml');
  const logbackFile = join(dir, 'logback.xml');
  const logFile = join(dir, 'cassandra.log');
  writeFileSync(configFile, cassandraYaml({ cqlPort, storagePort, dir }));
  writeFileSync(logbackFile, LOGBACK_XML);
  mkdirSync(join(dir, 'triggers'));

  // The JVM writes straight into the file: nothing to pump, and the log outlives a crash of this process.
  const out = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(java.binary, [...jvmOptions({ heap: options.heap ?? '512m', configFile, logbackFile, dir }), '-cp', join(lib, '*'), 'org.apache.cassandra.service.CassandraDaemon'], {
      cwd: dir,
      env: options.env ?? process.env,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  installExitHook();
  live.add(child);
  let hasExited = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  log(`starting Cassandra (pid ${child.pid}, CQL on 127.0.0.1:${cqlPort}, log ${logFile})`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!hasExited) {
        child.kill('SIGCONT'); // a paused node cannot handle SIGTERM
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_TIMEOUT_MS)))]);
        clearTimeout(timer);
        if (late) {
          child.kill('SIGKILL');
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })());

  const tail = () => logTail(logFile);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 180_000);
  let releaseVersion: string | undefined;
  for (;;) {
    if (hasExited) {
      const { code, signal } = await exited;
      const text = tail();
      await stop();
      throw new CassandraStartError(`exited during start (${signal ?? `code ${code}`})`, logFile, text);
    }
    releaseVersion = await cqlAnswers(cqlPort);
    if (releaseVersion) break;
    if (Date.now() > deadline) {
      const text = tail();
      await stop();
      throw new CassandraStartError(`did not accept CQL connections within ${Math.round((options.readyTimeoutMs ?? 180_000) / 1000)} s`, logFile, text);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    cqlPort,
    contactPoint: `127.0.0.1:${cqlPort}`,
    releaseVersion,
    dir,
    logFile,
    pid: child.pid ?? -1,
    exited,
    stop,
  };
}

/**
 * The node's release_version once a real CQL client can connect and query,
 * undefined until then. The port opens only at the very end of the start, so
 * a plain TCP probe comes first and the driver is tried only then.
 */
async function cqlAnswers(port: number): Promise<string | undefined> {
  if (!(await tcpOpen(port))) return undefined;
  const client = new Client({ contactPoints: [`127.0.0.1:${port}`], localDataCenter: LOCAL_DATA_CENTER, socketOptions: { connectTimeout: 2000, readTimeout: 5000 } });
  try {
    await client.connect();
    const rs = await client.execute('SELECT release_version FROM system.local');
    return String(rs.first()?.get('release_version') ?? 'unknown');
  } catch {
    return undefined;
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch (err) {
    return `(no log: ${(err as Error).message})`;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}
