import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { pidsListeningOn } from './listening-pid.js';
import { describeProcess, readCpuSeconds } from './proc-stat.js';

/**
 * Server CPU per message: which local processes serve the run (found by the
 * ports of --url and --metrics-url, plus --server-port and --server-pid), their
 * utime + stime from /proc at the start and end of the measured window, and
 * the total divided by what was delivered in it.
 */

/** A process whose CPU is measured, and why it is (the URL, port or option that named it). */
export interface ServerProcess {
  pid: number;
  name: string;
  sources: string[];
}

/** CPU seconds per pid at one moment; an error string where the process could not be read. */
export interface CpuSample {
  at: number;
  seconds: Map<number, number | string>;
}

export interface ProcessCpu {
  pid: number;
  name: string;
  sources: string[];
  cpuSeconds: number | null;
  /** Average cores busy over the window. */
  cores: number | null;
  error: string | null;
}

/** The `cpu` object of the JSON result. */
export interface CpuReport {
  windowSeconds: number;
  perProcess: ProcessCpu[];
  /** Over the processes that could be read; null when none could. */
  totalSeconds: number | null;
  cores: number | null;
  /** What the total is divided by: messages delivered (every recipient's copy counts), or connections opened. */
  per: 'delivered message' | 'connection';
  count: number;
  /** µs of server CPU per `per`; null when nothing was measured or the count is 0. */
  usPer: number | null;
  /** The same figure when `per` is delivered messages, else null. */
  usPerDelivered: number | null;
  /** Why some server CPU is missing from the total (remote hosts, unreadable processes). */
  notMeasured: string[];
}

/** Where the servers are, as given on the command line. */
export interface ServerSpec {
  urls: string[];
  ports: number[];
  pids: number[];
}

export class ServerCpu {
  private constructor(
    readonly processes: ServerProcess[],
    readonly problems: string[],
  ) {}

  /** Resolves every URL, port and pid to a local process; what cannot be resolved becomes a problem, not an error. */
  static async find(spec: ServerSpec): Promise<ServerCpu> {
    const byPid = new Map<number, ServerProcess>();
    const problems: string[] = [];
    const add = (pid: number, source: string) => {
      const p = byPid.get(pid) ?? { pid, name: describeProcess(pid), sources: [] };
      if (!p.sources.includes(source)) p.sources.push(source);
      byPid.set(pid, p);
    };
    const byPort = (port: number, source: string) => {
      const scan = pidsListeningOn(port);
      if (scan.pids.length > 0) for (const pid of scan.pids) add(pid, source);
      else if (scan.listening) problems.push(`${source}: the process listening on port ${port} is not readable here (another user's?); pass --server-pid`);
      else problems.push(`${source}: nothing listens on local port ${port}`);
    };
    for (const url of spec.urls) {
      const u = new URL(url);
      const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      if (await isLocalHost(u.hostname)) byPort(port, url);
      else problems.push(`${url}: not this machine, its CPU is not measured (run the bench on the server's host, or pass --server-pid there)`);
    }
    for (const port of spec.ports) byPort(port, `--server-port ${port}`);
    for (const pid of spec.pids) {
      try {
        readCpuSeconds(pid);
        add(pid, '--server-pid');
      } catch (err) {
        problems.push(`--server-pid ${pid}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return new ServerCpu(
      [...byPid.values()].sort((a, b) => a.pid - b.pid),
      problems,
    );
  }

  /** Every process's CPU seconds now. A process that exited is recorded as an error, not thrown. */
  read(): CpuSample {
    const seconds = new Map<number, number | string>();
    for (const p of this.processes) {
      try {
        seconds.set(p.pid, readCpuSeconds(p.pid));
      } catch (err) {
        seconds.set(p.pid, err instanceof Error ? err.message : String(err));
      }
    }
    return { at: performance.now(), seconds };
  }

  /** CPU between two samples, per process and in total, per delivered message (or connection). */
  report(start: CpuSample, end: CpuSample, count: number, per: CpuReport['per']): CpuReport {
    const windowSeconds = (end.at - start.at) / 1000;
    const notMeasured = [...this.problems];
    const perProcess = this.processes.map((p): ProcessCpu => {
      const a = start.seconds.get(p.pid);
      const b = end.seconds.get(p.pid);
      if (typeof a !== 'number' || typeof b !== 'number') {
        const error = typeof a === 'string' ? a : typeof b === 'string' ? b : 'not sampled';
        notMeasured.push(`${p.name} (pid ${p.pid}): ${error}`);
        return { ...p, cpuSeconds: null, cores: null, error };
      }
      const cpuSeconds = round(b - a, 3);
      return { ...p, cpuSeconds, cores: windowSeconds > 0 ? round(cpuSeconds / windowSeconds, 3) : null, error: null };
    });
    const measured = perProcess.filter((p) => p.cpuSeconds !== null);
    const totalSeconds = measured.length > 0 ? round(measured.reduce((s, p) => s + p.cpuSeconds!, 0), 3) : null;
    const usPer = totalSeconds !== null && count > 0 ? round((totalSeconds * 1e6) / count, 1) : null;
    return {
      windowSeconds: round(windowSeconds, 3),
      perProcess,
      totalSeconds,
      cores: totalSeconds !== null && windowSeconds > 0 ? round(totalSeconds / windowSeconds, 3) : null,
      per,
      count,
      usPer,
      usPerDelivered: per === 'delivered message' ? usPer : null,
      notMeasured,
    };
  }
}

/** Whether `host` names this machine: loopback, or an address of one of its interfaces. */
export async function isLocalHost(host: string): Promise<boolean> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(bare)) addresses = [bare];
  else {
    try {
      addresses = (await lookup(bare, { all: true })).map((a) => a.address);
    } catch {
      return false;
    }
  }
  const local = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((i) => i?.address),
  );
  return addresses.some((a) => a.startsWith('127.') || a === '::1' || a === '0.0.0.0' || a === '::' || local.has(a) || local.has(a.replace(/^::ffff:/, '')));
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
