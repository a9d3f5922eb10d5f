import { readFileSync } from 'node:fs';
import type { LocalCluster } from '@chat/deploy';

/** Kernel clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run on). */
const CLOCK_TICKS_PER_SECOND = 100;

/** What one process spent over the window. */
export interface ProcessCost {
  name: string;
  pid: number;
  /** CPU seconds (user + system) per wall-clock second: 1 is one core busy. */
  cores: number;
}

/** What an idle cluster spent over a measurement window. */
export interface IdleCost {
  windowMs: number;
  processes: ProcessCost[];
  /** Sum over every process of the cluster, nats-server included. */
  totalCores: number;
  /** Messages nats-server received per second (every publish, request and reply, JetStream writes included). */
  natsInMsgsPerSec: number;
  /** JetStream API requests per second (stream info, consumer creation, ...; KV reads and writes are not API calls). */
  jetStreamApiPerSec: number;
}

/**
 * Measures what the cluster spends while nobody uses it: the CPU time
 * (utime + stime from /proc/<pid>/stat) of every process of the cluster over
 * `windowMs`, and nats-server's message and JetStream API rates from its
 * monitoring endpoint. Linux only (reads /proc).
 */
export async function measureIdleCost(cluster: LocalCluster, windowMs: number): Promise<IdleCost> {
  const procs = [
    { name: 'nats-server', pid: cluster.nats.pid },
    ...cluster.processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null).map((p) => ({ name: p.name, pid: p.child.pid! })),
  ];
  const cpuBefore = procs.map((p) => cpuTicks(p.pid));
  const natsBefore = await natsCounters(cluster.nats.monitorUrl);
  const startedAt = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const cpuAfter = procs.map((p) => cpuTicks(p.pid));
  const natsAfter = await natsCounters(cluster.nats.monitorUrl);
  const seconds = (performance.now() - startedAt) / 1000;
  const processes = procs.map((p, i) => ({ ...p, cores: (cpuAfter[i]! - cpuBefore[i]!) / CLOCK_TICKS_PER_SECOND / seconds }));
  return {
    windowMs: Math.round(seconds * 1000),
    processes,
    totalCores: processes.reduce((sum, p) => sum + p.cores, 0),
    natsInMsgsPerSec: (natsAfter.inMsgs - natsBefore.inMsgs) / seconds,
    jetStreamApiPerSec: (natsAfter.jsApi - natsBefore.jsApi) / seconds,
  };
}

/** One line per process and the totals, for test output and reports. */
export function formatIdleCost(cost: IdleCost): string {
  const rows = cost.processes.map((p) => `  ${p.name.padEnd(12)} pid ${String(p.pid).padEnd(8)} ${p.cores.toFixed(4)} cores`);
  return [
    `idle cost over ${cost.windowMs} ms:`,
    ...rows,
    `  ${'total'.padEnd(25)} ${cost.totalCores.toFixed(4)} cores`,
    `  nats-server in_msgs ${cost.natsInMsgsPerSec.toFixed(1)}/s, JetStream API requests ${cost.jetStreamApiPerSec.toFixed(1)}/s`,
  ].join('\n');
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after it are plain.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function natsCounters(monitorUrl: string): Promise<{ inMsgs: number; jsApi: number }> {
  const varz = (await (await fetch(`${monitorUrl}/varz`)).json()) as { in_msgs: number };
  const jsz = (await (await fetch(`${monitorUrl}/jsz`)).json()) as { api?: { total?: number } };
  return { inMsgs: varz.in_msgs, jsApi: jsz.api?.total ?? 0 };
}
