import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findBinary } from '../local-servers/server-process.js';
import { deployRoot } from '../paths.js';

/** deploy/prometheus: the shipped scrape configuration, rules and their unit tests. */
export function prometheusDir(): string {
  return join(deployRoot(), 'prometheus');
}

/** deploy/prometheus/rules.yml: the recording rules and alerts. */
export function prometheusRulesFile(): string {
  return join(prometheusDir(), 'rules.yml');
}

/** deploy/grafana/chat-cluster.json: the Grafana dashboard. */
export function grafanaDashboardFile(): string {
  return join(deployRoot(), 'grafana', 'chat-cluster.json');
}

/** The Debian package with `prometheus` and `promtool` (CI installs it in .ci/run). */
export const PROMETHEUS_DEBIAN_PACKAGE = 'prometheus';

/** The latency recording rules of rules.yml: the p99 of every hop, and the delivery p50. */
export const LATENCY_RECORDING_RULES = [
  'chat:delivery_latency_seconds:p99_1m',
  'chat:delivery_latency_seconds:p50_1m',
  'chat:gateway_request_seconds:p99_1m',
  'chat:bus_request_seconds:p99_1m',
  'chat:actor_mailbox_wait_seconds:p99_1m',
  'chat:store_write_seconds:p99_1m',
] as const;

/** Path of a binary of Debian's prometheus package; throws naming the package when it is missing (`dirs`: where to look, for tests). */
export function findPrometheusBinary(name: 'prometheus' | 'promtool', dirs?: string[]): string {
  try {
    return dirs ? findBinary(name, PROMETHEUS_DEBIAN_PACKAGE, dirs) : findBinary(name, PROMETHEUS_DEBIAN_PACKAGE);
  } catch (err) {
    throw new Error(`${(err as Error).message}; CI installs it in .ci/run`, { cause: err });
  }
}

/** Runs promtool with `args` in `cwd`; resolves to its exit status and everything it wrote. */
export function promtool(args: string[], cwd = prometheusDir()): { status: number | null; output: string } {
  const result = spawnSync(findPrometheusBinary('promtool'), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Recording rule names (`record:`) of a rules file's text. */
export function recordedNames(rulesText: string): string[] {
  return [...rulesText.matchAll(/^\s*-\s*record:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** Alert names (`alert:`) of a rules file's text. */
export function alertNames(rulesText: string): string[] {
  return [...rulesText.matchAll(/^\s*-\s*alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}
