import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@chat/deploy/local-servers';

const run = promisify(execFile);

/** Where Debian installs PostgreSQL's server binaries, one folder per major version. */
const PG_LIB = '/usr/lib/postgresql';
/** The OS user the server runs as when the tests run as root (initdb and postgres refuse root). */
const PG_OS_USER = 'postgres';

/** A private PostgreSQL server a test started: its own data directory and port, never the machine's 5432. */
export interface LivePg {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string;
  readonly port: number;
  /** Stops it cleanly (fast shutdown); the data directory stays for start(). */
  stop(): Promise<void>;
  /** SIGKILLs the server: a crashed or vanished database. */
  kill(): Promise<void>;
  /** Starts it again on the same data directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its directories. */
  destroy(): Promise<void>;
}

/** The bin folder of the highest PostgreSQL installed, or an error naming what is missing and how to install it. */
export function postgresBinDir(): string {
  const versions = existsSync(PG_LIB)
    ? readdirSync(PG_LIB)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_LIB, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const [highest] = versions;
  if (highest === undefined) {
    throw new Error(`no PostgreSQL server binaries: found no ${PG_LIB}/<version>/bin/postgres (Debian: apt-get install postgresql)`);
  }
  return join(PG_LIB, highest, 'bin');
}

/**
 * Starts a PostgreSQL server in a new temporary directory on a free port
 * (fsync off: a test database), listening on 127.0.0.1 and a private socket
 * directory only. Resolves once it accepts connections. As root, the server
 * runs as the `postgres` OS user.
 */
export async function startLivePg(): Promise<LivePg> {
  const bin = postgresBinDir();
  const root = await mkdtemp(join(tmpdir(), 'chat-pg-'));
  const dataDir = join(root, 'data');
  const sockDir = join(root, 'sock');
  const asRoot = userInfo().uid === 0;
  const as = (cmd: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', PG_OS_USER, '--', cmd, ...args]] : [cmd, args]);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', PG_OS_USER]).catch((err: unknown) => {
      throw new Error(`running as root, PostgreSQL needs the OS user "${PG_OS_USER}" to run as (Debian's postgresql package creates it)`, { cause: err });
    });
    const uid = Number(stdout.trim());
    const { stdout: gidOut } = await run('id', ['-g', PG_OS_USER]);
    const gid = Number(gidOut.trim());
    await chown(root, uid, gid);
    await mkdir(sockDir);
    await chown(sockDir, uid, gid);
  } else {
    await mkdir(sockDir);
  }
  await chmod(root, 0o700);
  const [initCmd, initArgs] = as(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  await run(initCmd, initArgs).catch((err: unknown) => {
    throw new Error(`initdb failed in ${dataDir}: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    const [cmd, args] = as(join(bin, 'postgres'), [
      '-D', dataDir, '-p', String(port), '-k', sockDir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'full_page_writes=off',
    ]);
    output = '';
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`postgres exited at start (${proc.exitCode ?? proc.signalCode}): ${output.slice(-2000)}`);
      const ready = await run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-t', '1']).then(
        () => true,
        () => false,
      );
      if (ready) {
        // A test run that ends without destroy() (a crash, a timeout) must not leave the server behind.
        const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
        const onExit = () => {
          try {
            process.kill(pid, 'SIGINT');
          } catch {
            // Already gone.
          }
        };
        process.once('exit', onExit);
        proc.once('exit', () => process.off('exit', onExit));
        return;
      }
      if (Date.now() > deadline) throw new Error(`postgres did not accept connections on port ${port} within 30 s: ${output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // The server's own pid gets the signal: runuser, in between as root, does not pass every signal on.
    await signalServer(dataDir, signal);
    await exited;
  };

  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    // SIGINT is PostgreSQL's fast shutdown: sessions are ended, the data is checkpointed.
    stop: () => stopWith('SIGINT'),
    kill: () => stopWith('SIGKILL'),
    destroy: async () => {
      await stopWith('SIGINT');
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Signals the postmaster whose pid postmaster.pid records (the server itself,
 * not runuser). SIGKILL goes to its backends too, as a machine crash would:
 * orphaned backends would keep the shared memory and refuse a start on the
 * same directory.
 */
async function signalServer(dataDir: string, signal: NodeJS.Signals): Promise<void> {
  const pidText = await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(pidText.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let backends: number[] = [];
  if (signal === 'SIGKILL') {
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(() => ({ stdout: '' }));
    backends = stdout.split('\n').map((l) => Number(l.trim())).filter((n) => Number.isInteger(n) && n > 0);
  }
  for (const p of [pid, ...backends]) {
    try {
      process.kill(p, signal);
    } catch {
      // Already gone.
    }
  }
}
