import { sleep } from './coordinator.js';
import type { Scrape } from './gateway-metrics.js';
import type { Context } from './scenario.js';
import type { CpuReport, CpuSample } from './server-cpu.js';
import { wallNow, type Window } from './stats.js';

/**
 * A scenario's measured window, after its warm-up. During the warm-up the load
 * runs as configured, but what is sent (or connected) then is in no figure:
 * the workers classify every message by its send time against `measureFrom`,
 * so a message sent in the last warm-up millisecond is left out even if it
 * arrives later, and one sent after it is in even if the warm-up's backlog
 * delays it. Warm-up messages are still counted, so a lost one still fails the
 * run. The server-side figures (CPU from /proc, /metrics deltas) start when
 * the warm-up ends and stop at `end()`.
 */
export class Measurement {
  /** Everything from the start of the warm-up: figures of the measured window, counters of the warm-up. */
  readonly window: Window;
  before: Scrape[] = [];
  after: Scrape[] = [];
  /** Seconds since the run started when the measured window began (a chart marker). */
  beganAtElapsed = 0;
  #began = 0;
  #ended = 0;
  #cpuStart: CpuSample | undefined;
  #cpuEnd: CpuSample | undefined;

  private constructor(
    private readonly ctx: Context,
    /** Wall-clock ms where the warm-up ends and the measured window begins. */
    readonly measureFrom: number,
    readonly warmupSeconds: number,
  ) {
    this.window = ctx.coord.openWindow();
  }

  /** Starts the warm-up now: the measured window will begin `warmupSeconds` later. */
  static async start(ctx: Context, warmupSeconds: number): Promise<Measurement> {
    const at = wallNow() + warmupSeconds * 1000;
    await ctx.coord.measureFrom(at);
    if (warmupSeconds > 0) ctx.coord.phase = 'warm-up';
    return new Measurement(ctx, at, warmupSeconds);
  }

  /**
   * Waits for the end of the warm-up, then takes the server-side starting
   * point: /metrics first, CPU second, so the scrape's own cost stays out.
   */
  async begin(phase: string): Promise<void> {
    const wait = this.measureFrom - wallNow();
    if (wait > 0) await sleep(wait);
    // The window's seconds count from the cutoff itself (what the workers classify by), not from after the scrape.
    this.#began = performance.now() - Math.max(0, wallNow() - this.measureFrom);
    this.beganAtElapsed = this.ctx.coord.elapsed();
    this.ctx.coord.phase = phase;
    this.before = await this.ctx.scrape();
    this.#cpuStart = this.ctx.cpu.read();
  }

  /** Closes the window (call it after the drain): CPU first, then /metrics. */
  async end(): Promise<void> {
    this.#cpuEnd = this.ctx.cpu.read();
    this.#ended = performance.now();
    this.ctx.coord.closeWindow(this.window);
    this.after = await this.ctx.scrape();
  }

  /** Seconds from `begin()` to `end()` (or to now, before `end()`). */
  seconds(): number {
    return ((this.#ended || performance.now()) - this.#began) / 1000;
  }

  /** Server CPU over the window, per delivered message (or per connection opened, for `connections`). */
  cpu(per: CpuReport['per'] = 'delivered message'): CpuReport {
    if (!this.#cpuStart || !this.#cpuEnd) throw new Error('Measurement.cpu() before begin() and end()');
    const c = this.window.counters;
    return this.ctx.cpu.report(this.#cpuStart, this.#cpuEnd, per === 'connection' ? c.connected : c.received, per);
  }

  /** The warm-up's own counts, for the report: how much load ran unmeasured, and whether all of it arrived. */
  warmup(recipients: number, lost: number): WarmupSummary {
    const w = this.window.warmup;
    return { seconds: this.warmupSeconds, sent: w.sent, acked: w.acked, received: w.received, expected: w.acked * recipients, connected: w.connected, lost };
  }
}

/** The `warmup` object of the JSON result. */
export interface WarmupSummary {
  seconds: number;
  sent: number;
  acked: number;
  received: number;
  /** Copies that had to arrive: acked × recipients. */
  expected: number;
  /** Connections started during the warm-up (the `connections` scenario). */
  connected: number;
  /** Copies of warm-up messages that never arrived (they fail the run like any other loss). */
  lost: number;
}
