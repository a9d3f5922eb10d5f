import type { Options } from './cli.js';
import type { Coordinator } from './coordinator.js';
import { scrapeAll, type Scrape } from './gateway-metrics.js';
import type { OpenDmsResult, UserSpec } from './ipc.js';
import type { WarmupSummary } from './measurement.js';
import type { CpuReport, ServerCpu } from './server-cpu.js';
import type { Window } from './stats.js';
import type { TargetAppliesTo } from './verdict.js';

/** What a scenario gets: the options, the coordinator and a few shared steps. */
export class Context {
  /** Makes this run's user names unique, so runs against one server never collide. */
  readonly runId = Date.now().toString(36);

  constructor(
    readonly opts: Options,
    readonly coord: Coordinator,
    /** The local server processes whose CPU each measured window reads. */
    readonly cpu: ServerCpu,
  ) {}

  note(message: string): void {
    this.coord.progress.note(message);
  }

  /** Users 0..n-1, on the gateways round-robin. */
  users(n: number): UserSpec[] {
    return Array.from({ length: n }, (_, i) => ({ index: i, name: `bench-${this.runId}-${i}`, gateway: this.opts.urls[i % this.opts.urls.length]! }));
  }

  scrape(): Promise<Scrape[]> {
    return scrapeAll(this.opts.metricsUrls);
  }

  /** Logs in and connects `n` users; returns user index → id of those connected. */
  async setupUsers(n: number): Promise<Map<number, string>> {
    const t0 = performance.now();
    this.note(`logging in ${n} users (${this.opts.loginConcurrency} at a time) on ${this.opts.urls.join(', ')}`);
    const login = await this.coord.login(this.users(n), this.opts.loginConcurrency);
    if (login.failed) this.note(`${login.failed} logins failed, first: ${login.firstError}`);
    const loginSeconds = (performance.now() - t0) / 1000;
    this.note(`logged in (${loginSeconds.toFixed(1)} s, ${(n / loginSeconds).toFixed(0)}/s); connecting at ${this.opts.rampRate}/s`);
    const t1 = performance.now();
    const conn = await this.coord.connect(this.opts.rampRate);
    if (conn.failed) this.note(`${conn.failed} connections failed, first: ${conn.firstError}`);
    if (conn.retried) this.note(`${conn.retried} connections retried after closing before hello (first: ${conn.firstRetry})`);
    this.note(`${conn.ids.size} connected (${((performance.now() - t1) / 1000).toFixed(1)} s)`);
    return conn.ids;
  }

  /** Opens a DM for each pair (2k, 2k+1) where both users connected; returns the number opened. */
  async openPairs(ids: Map<number, string>, users: number): Promise<number> {
    this.coord.phase = 'open dms';
    const pairs: Array<[number, number]> = [];
    for (let k = 0; 2 * k + 1 < users; k++) if (ids.has(2 * k) && ids.has(2 * k + 1)) pairs.push([2 * k, 2 * k + 1]);
    const results = await this.coord.callAll<OpenDmsResult>((w) => ({ type: 'open-dms', pairs: pairs.filter(([a]) => this.coord.workerOf(a) === w) }));
    const opened = results.reduce((a, r) => a + r.opened, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    if (failed) this.note(`${failed} DMs could not be opened, first: ${results.find((r) => r.firstError)?.firstError}`);
    this.note(`${opened} DM pairs open`);
    return opened;
  }
}

export interface ChartKind {
  title: string;
  /** Which per-second percentiles to draw. */
  of: 'delivery' | 'connect';
  markers?: Array<{ x: number; label: string }>;
}

/** What a scenario hands back to be reported. */
export interface Outcome {
  parameters: Record<string, string | number>;
  /** The measured phase: throughput and latency come from it (warm-up excluded). */
  measured: Window;
  measuredSeconds: number;
  /** Copies of messages sent in the measured window that some recipient never got. */
  lost: number;
  /** The warm-up: its load, and its own losses (which fail the run too). */
  warmup: WarmupSummary;
  /** Server CPU over the measured window, from /proc. */
  cpu: CpuReport;
  /** What --p99-ms is compared with. */
  target: TargetAppliesTo;
  /** Set when the scenario judged the target itself (null: met); otherwise the measured p99 is compared. */
  targetMiss?: string | null;
  /** Sends still without a reply when the run ended (counted as errors). */
  unanswered: number;
  before: Scrape[];
  after: Scrape[];
  /** Scenario-specific lines for the printed table. */
  lines: string[];
  /** Scenario-specific figures for the JSON result. */
  data: Record<string, unknown>;
  chart: ChartKind;
  /** Why the run could not do what was asked, if it could not. */
  failure?: string;
}

export type Scenario = (ctx: Context) => Promise<Outcome>;
