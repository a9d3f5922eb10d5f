import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPrometheusBinary, prometheusRulesFile } from '../observability/prometheus-files.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/**
 * One process for Prometheus to scrape: its job (`chat-gateway`, ...) and the
 * `host:port` of its /metrics. No `role` target label: every process exports
 * chat_build_info{role}, which a target label of that name would rename.
 */
export interface ScrapeTarget {
  job: string;
  address: string;
}

/** Options of {@link startPrometheusServer}. */
export interface PrometheusServerOptions {
  /** What to scrape at start; {@link PrometheusServerProcess.setTargets} changes it later. */
  targets?: ScrapeTarget[];
  /** Scrape and rule evaluation interval in seconds (default 5). */
  intervalSeconds?: number;
  /** Rules file to load (default deploy/prometheus/rules.yml). */
  rulesFile?: string;
  /** Port to listen on (default: a free port chosen at start). */
  port?: number;
  /** Run in a process group of its own, so a terminal's Ctrl-C does not reach it (see startNatsServer). Default false. */
  ownProcessGroup?: boolean;
}

/** A running `prometheus` child process scraping a local cluster. */
export interface PrometheusServerProcess extends ServerProcess {
  /** Its web UI and HTTP API, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The generated configuration file (in the temporary directory). */
  readonly configFile: string;
  /** The rules file it loaded. */
  readonly rulesFile: string;
  /** Scrape and evaluation interval in seconds. */
  readonly intervalSeconds: number;
  /** Replaces the scrape targets (Prometheus picks the change up from its file_sd file within a second or so). */
  setTargets(targets: ScrapeTarget[]): void;
}

/** How long Prometheus gets to answer /-/ready after it accepts connections. */
const READY_TIMEOUT_MS = 20_000;

/**
 * Starts a real `prometheus` (Debian's prometheus package) on 127.0.0.1 with
 * its TSDB in a temporary directory, scraping `targets` every
 * `intervalSeconds` with the shipped recording rules and alerts. The targets
 * live in a file_sd file per job, so processes added to a running cluster are
 * scraped too. Resolves once /-/ready answers; fails with an error naming the
 * Debian package when the binary is missing, and with Prometheus's output when
 * it does not start.
 */
export async function startPrometheusServer(options: PrometheusServerOptions = {}): Promise<PrometheusServerProcess> {
  const interval = options.intervalSeconds ?? 5;
  if (!(interval > 0 && interval <= 300)) throw new RangeError(`the scrape interval must be above 0 and at most 300 seconds, got ${interval}`);
  const rulesFile = options.rulesFile ?? prometheusRulesFile();
  if (!existsSync(rulesFile)) throw new Error(`Prometheus rules file ${rulesFile} is missing`);
  const binary = findPrometheusBinary('prometheus');
  let targets = options.targets ?? [];
  let configFile = '';
  let targetsDir = '';

  const writeTargets = (): void => {
    const jobs = new Set([...JOBS, ...targets.map((t) => t.job)]);
    for (const job of jobs) {
      const groups = targets.filter((t) => t.job === job).map((t) => ({ targets: [t.address] }));
      // Written aside and renamed, so Prometheus never reads half a file.
      const file = join(targetsDir, `${job}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(groups, null, 2));
      renameSync(`${file}.tmp`, file);
    }
  };

  const server = await startServerProcess({
    name: 'prometheus',
    binary,
    args: (port, dir) => {
      // Called once, before the first start: the configuration goes into the server's temporary directory.
      targetsDir = dir;
      configFile = join(dir, 'prometheus.yml');
      const jobs = new Set([...JOBS, ...targets.map((t) => t.job)]);
      writeFileSync(configFile, prometheusConfig([...jobs], interval, rulesFile, dir));
      writeTargets();
      return [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--storage.tsdb.retention.time=1d',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ];
    },
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.ownProcessGroup !== undefined ? { ownProcessGroup: options.ownProcessGroup } : {}),
  });
  const url = `http://127.0.0.1:${server.port}`;
  try {
    await waitReady(url, server);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return Object.assign(server, {
    url,
    configFile,
    rulesFile,
    intervalSeconds: interval,
    setTargets(next: ScrapeTarget[]) {
      targets = [...next];
      writeTargets();
    },
  });
}

/**
 * The chat cluster's jobs, as in deploy/prometheus/prometheus.yml; each gets a file_sd file even
 * while empty, so a role started after Prometheus (an indexer added later) is scraped too.
 */
export const JOBS = ['chat-gateway', 'chat-actors', 'chat-presence', 'chat-indexer'];

/** A Prometheus configuration: one job per role, its targets in `<dir>/<job>.json`, the rules file, one interval for everything. */
export function prometheusConfig(jobs: string[], intervalSeconds: number, rulesFile: string, dir: string): string {
  const lines = [
    '# Generated by the chat local cluster (deploy/src/local-servers/prometheus-server.ts).',
    'global:',
    `  scrape_interval: ${intervalSeconds}s`,
    `  scrape_timeout: ${intervalSeconds}s`,
    `  evaluation_interval: ${intervalSeconds}s`,
    'rule_files:',
    `  - ${JSON.stringify(rulesFile)}`,
    'scrape_configs:',
  ];
  for (const job of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(job)}`, '    file_sd_configs:', `      - files: [${JSON.stringify(join(dir, `${job}.json`))}]`, '        refresh_interval: 1s');
  }
  return lines.join('\n') + '\n';
}

async function waitReady(url: string, server: ServerProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`prometheus at ${url} not ready within ${READY_TIMEOUT_MS} ms:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
