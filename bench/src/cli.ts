import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const SCENARIOS = ['connections', 'dm-latency', 'group-fanout', 'max-throughput'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  scenario: ScenarioName;
  urls: string[];
  /** Each gateway's ops endpoints (/readyz, /metrics), in the order of `urls`: --ops-url, else `urls` (standalone serves them on its port). */
  opsUrls: string[];
  /** Every /metrics endpoint to scrape: the gateways' ops URLs plus --metrics-url (actor hosts of a cluster). */
  metricsUrls: string[];
  workers: number;
  out: string;
  rampRate: number;
  loginConcurrency: number;
  /** The server's per-session request rate limit (RATE_LIMIT_PER_SEC), which paced senders must stay under. */
  rateLimit: number;
  connections: number;
  hold: number;
  users: number;
  rate: number;
  duration: number;
  members: number;
  start: number;
  step: number;
  stepSeconds: number;
  max: number;
  /** Latency target (ms): p99 delivery (connect, for `connections`) over it fails the run. */
  p99Ms: number;
  /** Seconds of load at the start that no figure includes. */
  warmup: number;
  /** Characters in each message body: its send stamp, then words (as k6's BODY_SIZE). */
  bodySize: number;
  /** More local processes to measure the CPU of (e.g. nats-server), by pid ... */
  serverPids: number[];
  /** ... or by a TCP port they listen on. */
  serverPorts: number[];
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- <scenario> [options]

scenarios:
  connections      ramp to --connections sockets at --ramp-rate/s, hold --hold s; connect time, memory per connection
  dm-latency       --users in DM pairs, each sending --rate msg/s for --duration s; delivery and ack latency
  group-fanout     one group of --members, one sender at --rate msg/s for --duration s; delivery to every member
  max-throughput   DM pairs of --users; total rate from --start by --step every --step-seconds until
                   a step's p99 delivery > --p99-ms, errors or lost messages, or --max msg/s

common options:
  --url URL[,URL...]      gateways; users are assigned round-robin (default http://127.0.0.1:8080)
  --ops-url URL[,URL...]  each gateway's ops endpoints (/readyz, /metrics: OPS_PORT of a cluster gateway),
                          in the order of --url (default: the --url themselves, as standalone serves them)
  --metrics-url URL,...   more /metrics endpoints to scrape (actor hosts of a cluster)
  --p99-ms MS             latency target (default 100): the run fails when the measured p99 is over it
                          (delivery; connect for connections; each step's delivery for max-throughput,
                          which then reports the last step within it)
  --warmup S              seconds of load before the measured window (default 3; 0 for connections):
                          what is sent then must still arrive but is in no figure (latency, counts, CPU)
  --server-pid PID,...    more local processes whose CPU to measure (e.g. nats-server)
  --server-port PORT,...  the same, found by a local TCP port they listen on (e.g. 4222)
  --workers N             generator processes (default 2)
  --out DIR               results folder (default bench/results)
  --ramp-rate N           new connections per second (default 1000)
  --login-concurrency N   dev logins in flight (default 200)
  --rate-limit N          the server's RATE_LIMIT_PER_SEC (default: $RATE_LIMIT_PER_SEC or 50)
  --body-size N           characters per message body: its send stamp, then words (default 100, as k6's BODY_SIZE)

scenario options (defaults):
  connections:     --connections 10000 --hold 10
  dm-latency:      --users 500 --rate 2 --duration 30
  group-fanout:    --members 1000 --rate 1 --duration 30
  max-throughput:  --users 400 --start 2000 --step 2000 --step-seconds 10 --max 100000
                   (the warm-up runs at --start; --p99-limit is the old name of --p99-ms)

Server CPU per delivered message: utime + stime from /proc of every local process listening on a
--ops-url (or --url) or --metrics-url port, plus --server-pid/--server-port, over the measured window.

Exit code: 0 when the verdict is PASS (p99 within --p99-ms, nothing lost, no request failed),
1 on FAIL, 2 on bad usage.`;

const DEFAULT_OUT = fileURLToPath(new URL('../results', import.meta.url));

export function parseOptions(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        url: { type: 'string', default: 'http://127.0.0.1:8080' },
        'ops-url': { type: 'string', default: '' },
        'metrics-url': { type: 'string', default: '' },
        workers: { type: 'string', default: '2' },
        out: { type: 'string' },
        'ramp-rate': { type: 'string', default: '1000' },
        'login-concurrency': { type: 'string', default: '200' },
        'rate-limit': { type: 'string', default: process.env.RATE_LIMIT_PER_SEC ?? '50' },
        connections: { type: 'string', default: '10000' },
        hold: { type: 'string', default: '10' },
        users: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string', default: '30' },
        members: { type: 'string', default: '1000' },
        start: { type: 'string', default: '2000' },
        step: { type: 'string', default: '2000' },
        'step-seconds': { type: 'string', default: '10' },
        'p99-ms': { type: 'string' },
        'p99-limit': { type: 'string' },
        max: { type: 'string', default: '100000' },
        warmup: { type: 'string' },
        'body-size': { type: 'string', default: '100' },
        'server-pid': { type: 'string', default: '' },
        'server-port': { type: 'string', default: '' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values: v, positionals } = parsed;
  if (v.help) throw new UsageError('');
  const scenario = positionals[0] as ScenarioName | undefined;
  if (!scenario || !SCENARIOS.includes(scenario)) throw new UsageError(`unknown scenario ${JSON.stringify(scenario ?? '')}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${positionals[1]}`);
  const urls = list(v.url!);
  if (urls.length === 0) throw new UsageError('--url needs at least one gateway URL');
  const opsUrls = v['ops-url'] ? list(v['ops-url']) : urls;
  if (opsUrls.length !== urls.length) throw new UsageError(`--ops-url needs one URL per --url gateway (${urls.length}), got ${opsUrls.length}`);
  const users = num('--users', v.users ?? (scenario === 'max-throughput' ? '400' : '500'), 2);
  if (users % 2 !== 0) throw new UsageError(`--users must be even (users are paired into DMs), got ${users}`);
  if (v['p99-ms'] !== undefined && v['p99-limit'] !== undefined && v['p99-ms'] !== v['p99-limit'])
    throw new UsageError('--p99-limit is the old name of --p99-ms: give one of them');
  return {
    scenario,
    urls,
    opsUrls,
    metricsUrls: [...new Set([...opsUrls, ...list(v['metrics-url']!)])],
    workers: num('--workers', v.workers!, 1, 64),
    out: v.out ? resolve(v.out) : DEFAULT_OUT,
    rampRate: num('--ramp-rate', v['ramp-rate']!, 1),
    loginConcurrency: num('--login-concurrency', v['login-concurrency']!, 1),
    rateLimit: num('--rate-limit', v['rate-limit']!, 1),
    connections: num('--connections', v.connections!, 1),
    hold: num('--hold', v.hold!, 0),
    users,
    rate: num('--rate', v.rate ?? (scenario === 'group-fanout' ? '1' : '2'), 0.001),
    duration: num('--duration', v.duration!, 1),
    members: num('--members', v.members!, 2),
    start: num('--start', v.start!, 1),
    step: num('--step', v.step!, 1),
    stepSeconds: num('--step-seconds', v['step-seconds']!, 1),
    max: num('--max', v.max!, 1),
    p99Ms: num(v['p99-ms'] !== undefined ? '--p99-ms' : '--p99-limit', v['p99-ms'] ?? v['p99-limit'] ?? '100', 0.001),
    // Connection times are what `connections` measures from the very first one; the others measure a steady state.
    warmup: num('--warmup', v.warmup ?? (scenario === 'connections' ? '0' : '3'), 0, 3600),
    bodySize: num('--body-size', v['body-size']!, 1, 4000),
    serverPids: ints('--server-pid', v['server-pid']!, 1, 2 ** 31 - 1),
    serverPorts: ints('--server-port', v['server-port']!, 1, 65_535),
  };
}

/**
 * Paced senders must stay under the server's per-session limit (a token
 * bucket: RATE_LIMIT_PER_SEC refill, RATE_LIMIT_BURST capacity); 90 % of it
 * leaves room for timer jitter. Returns the problem, or null when it fits.
 */
export function rateProblem(perSession: number, opts: Options, advice: string): string | null {
  if (perSession <= opts.rateLimit * 0.9) return null;
  return (
    `${perSession.toFixed(1)} msg/s per session is over 90 % of the server's per-session rate limit (${opts.rateLimit}/s): ` +
    `${advice}, or raise RATE_LIMIT_PER_SEC / RATE_LIMIT_BURST on the server ` +
    `and pass the new limit with --rate-limit (or RATE_LIMIT_PER_SEC in the bench's environment).`
  );
}

function list(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim().replace(/\/+$/, ''))
    .filter(Boolean);
}

function num(flag: string, s: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number from ${min} to ${max}, got ${JSON.stringify(s)}`);
  return n;
}

/** A comma-separated list of whole numbers (pids, ports). */
function ints(flag: string, s: string, min: number, max: number): number[] {
  return list(s).map((x) => {
    const n = num(flag, x, min, max);
    if (!Number.isInteger(n)) throw new UsageError(`${flag} takes whole numbers, got ${JSON.stringify(x)}`);
    return n;
  });
}
