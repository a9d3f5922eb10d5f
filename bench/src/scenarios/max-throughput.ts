import { rateProblem, UsageError } from '../cli.js';
import { processDeltas, serverHistograms } from '../gateway-metrics.js';
import { Measurement } from '../measurement.js';
import type { Context, Outcome } from '../scenario.js';
import { errorTotal, fmtMs, summarize, type LatencySummary } from '../stats.js';

export interface Step {
  targetRate: number;
  perUserRate: number;
  sentPerSec: number;
  receivedPerSec: number;
  delivery: LatencySummary;
  ack: LatencySummary;
  errors: Record<string, number>;
  errorCount: number;
  lost: number;
  /** Server CPU during the step, in cores, per scraped process. */
  serverCpu: Array<number | null>;
  /** Server CPU (/proc, every measured process) per message delivered in the step, µs. */
  serverUsPerMsg: number | null;
  serverDeliveryP99Ms: number;
  held: boolean;
  verdict: string;
}

/**
 * DM pairs of --users; the total send rate starts at --start msg/s and grows
 * by --step every --step-seconds (each step drained before the next) until a
 * step's p99 delivery passes --p99-ms, errors or lost messages appear, the
 * generator cannot keep the rate, or --max is reached. A --warmup at --start
 * msg/s (drained, unmeasured) comes first.
 */
export async function maxThroughput(ctx: Context): Promise<Outcome> {
  const { opts, coord } = ctx;
  const firstProblem = rateProblem(opts.start / opts.users, opts, 'spread the load over more sessions (--users)');
  if (firstProblem) throw new UsageError(`--start ${opts.start} over --users ${opts.users}: ${firstProblem}`);
  const ids = await ctx.setupUsers(opts.users);
  const pairs = await ctx.openPairs(ids, opts.users);
  if (pairs === 0) throw new Error('no DM pair could be set up; see the messages above');
  const senders = pairs * 2;
  const m = await Measurement.start(ctx, opts.warmup);
  let lostInWarmup = 0;
  let unanswered = 0;
  if (opts.warmup > 0) {
    ctx.note(`warm-up: ${opts.start} msg/s for ${opts.warmup} s, not measured`);
    await coord.callAll({ type: 'send', ratePerUser: opts.start / senders, durationMs: opts.warmup * 1000, bodySize: opts.bodySize });
    const drained = await coord.drain(m.window, 1);
    lostInWarmup = drained.lostInWarmup;
    unanswered += drained.unanswered;
  }
  await m.begin('steps');
  const steps: Step[] = [];
  const markers: Array<{ x: number; label: string }> = [];
  let lastHeld: number | null = null;
  let stopReason = `--max ${opts.max} msg/s reached`;
  let lost = 0;
  for (let rate = opts.start; rate <= opts.max; rate += opts.step) {
    const perUser = rate / senders;
    const problem = rateProblem(perUser, opts, 'spread the load over more sessions (--users)');
    if (problem) {
      stopReason = `the next step (${rate} msg/s) would break the per-session rate limit: ${problem}`;
      break;
    }
    coord.phase = `${rate}/s`;
    markers.push({ x: coord.elapsed(), label: `${rate}/s` });
    const stepBefore = await ctx.scrape();
    const cpuBefore = ctx.cpu.read();
    const w = coord.openWindow();
    await coord.callAll({ type: 'send', ratePerUser: perUser, durationMs: opts.stepSeconds * 1000, bodySize: opts.bodySize });
    const sendSeconds = w.seconds();
    const drained = await coord.drain(w, 1);
    coord.closeWindow(w);
    const cpuAfter = ctx.cpu.read();
    const stepAfter = await ctx.scrape();
    lost += drained.lost;
    unanswered += drained.unanswered;
    const delivery = summarize(w.delivery);
    const sentPerSec = w.counters.sent / sendSeconds;
    const errors = errorTotal(w.counters) + drained.unanswered;
    const verdict =
      delivery.p99 > opts.p99Ms
        ? `p99 ${fmtMs(delivery.p99)} ms > ${opts.p99Ms} ms`
        : errors > 0
          ? `${errors} errors`
          : drained.lost > 0
            ? `${drained.lost} lost`
            : sentPerSec < rate * 0.95
              ? `generator sent only ${sentPerSec.toFixed(0)} msg/s`
              : 'held';
    const step: Step = {
      targetRate: rate,
      perUserRate: perUser,
      sentPerSec,
      receivedPerSec: w.counters.received / sendSeconds,
      delivery,
      ack: summarize(w.ack),
      errors: w.counters.errors,
      errorCount: errors,
      lost: drained.lost,
      serverCpu: processDeltas(stepBefore, stepAfter).map((p) => p.cpuCores),
      serverUsPerMsg: ctx.cpu.report(cpuBefore, cpuAfter, w.counters.received, 'delivered message').usPer,
      serverDeliveryP99Ms: serverHistograms(stepBefore, stepAfter)[0]!.p99,
      held: verdict === 'held',
      verdict,
    };
    steps.push(step);
    ctx.note(`step ${rate} msg/s: sent ${sentPerSec.toFixed(0)}/s, p99 ${fmtMs(delivery.p99)} ms, ${verdict}`);
    if (!step.held) {
      stopReason = `step ${rate} msg/s did not hold: ${verdict}`;
      break;
    }
    lastHeld = rate;
  }
  await m.end();
  const cpu = (s: Step) => s.serverCpu.map((c) => (c === null ? '-' : c.toFixed(2))).join('+');
  const lines = [
    'steps    target/s  sent/s  recv/s  p50 ms  p99 ms  max ms  ack p99  srv p99  srv cpu  µs/msg  errors  lost  verdict',
    ...steps.map((s) =>
      [
        '       ',
        String(s.targetRate).padStart(9),
        s.sentPerSec.toFixed(0).padStart(7),
        s.receivedPerSec.toFixed(0).padStart(7),
        fmtMs(s.delivery.p50).padStart(7),
        fmtMs(s.delivery.p99).padStart(7),
        fmtMs(s.delivery.max).padStart(7),
        fmtMs(s.ack.p99).padStart(8),
        fmtMs(s.serverDeliveryP99Ms).padStart(8),
        cpu(s).padStart(8),
        (s.serverUsPerMsg === null ? '-' : s.serverUsPerMsg.toFixed(0)).padStart(7),
        String(s.errorCount).padStart(7),
        String(s.lost).padStart(5),
        ` ${s.verdict}`,
      ].join(' '),
    ),
    `last rate that held: ${lastHeld === null ? 'none' : `${lastHeld} msg/s`} (${stopReason})`,
  ];
  if (stopReason.includes('rate limit')) ctx.note(stopReason);
  return {
    parameters: {
      users: opts.users,
      start: opts.start,
      step: opts.step,
      stepSeconds: opts.stepSeconds,
      p99Ms: opts.p99Ms,
      warmup: opts.warmup,
      max: opts.max,
      rateLimit: opts.rateLimit,
      gateways: opts.urls.length,
      workers: opts.workers,
    },
    measured: m.window,
    measuredSeconds: m.seconds(),
    lost,
    unanswered,
    warmup: m.warmup(1, lostInWarmup),
    cpu: m.cpu(),
    target: 'delivery p99 of each step',
    targetMiss: lastHeld === null ? `no step held: ${steps[0] ? `${steps[0].targetRate} msg/s: ${steps[0].verdict}` : stopReason}` : null,
    before: m.before,
    after: m.after,
    lines,
    data: { steps, lastHeldRate: lastHeld, stopReason },
    chart: { title: `max-throughput: delivery latency per second (steps of ${opts.step} msg/s)`, of: 'delivery', markers },
  };
}
