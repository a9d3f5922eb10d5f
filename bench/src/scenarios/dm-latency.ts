import { rateProblem, UsageError } from '../cli.js';
import { Measurement } from '../measurement.js';
import type { Context, Outcome } from '../scenario.js';

/**
 * --users in DM pairs (the two ends on different gateways when there are
 * several), each user sending --rate msg/s for --duration s, paced by timer
 * with a random phase and without waiting for acks, the first --warmup s of
 * them unmeasured. The receiver records send → receive, the sender send →
 * ack; after the sends, every acknowledged message (warm-up ones included)
 * must arrive within 10 s or it counts as lost.
 */
export async function dmLatency(ctx: Context): Promise<Outcome> {
  const { opts, coord } = ctx;
  const problem = rateProblem(opts.rate, opts, 'lower --rate');
  if (problem) throw new UsageError(problem);
  const ids = await ctx.setupUsers(opts.users);
  const pairs = await ctx.openPairs(ids, opts.users);
  if (pairs === 0) throw new Error('no DM pair could be set up; see the messages above');
  // One send command covers warm-up and measured window, so the load is steady when measuring starts.
  const m = await Measurement.start(ctx, opts.warmup);
  ctx.note(
    `${pairs * 2} users sending ${opts.rate} msg/s each for ${opts.warmup} s of warm-up + ${opts.duration} s (${pairs * 2 * opts.rate} msg/s in total)`,
  );
  const sending = coord.callAll({ type: 'send', ratePerUser: opts.rate, durationMs: (opts.warmup + opts.duration) * 1000, bodySize: opts.bodySize });
  await m.begin('send');
  await sending;
  const sendSeconds = m.seconds();
  const { lost, lostInWarmup, unanswered } = await coord.drain(m.window, 1);
  await m.end();
  return {
    parameters: {
      users: opts.users,
      pairs,
      ratePerUser: opts.rate,
      totalRate: pairs * 2 * opts.rate,
      duration: opts.duration,
      warmup: opts.warmup,
      gateways: opts.urls.length,
      workers: opts.workers,
    },
    measured: m.window,
    measuredSeconds: sendSeconds,
    lost,
    unanswered,
    warmup: m.warmup(1, lostInWarmup),
    cpu: m.cpu(),
    target: 'delivery p99',
    before: m.before,
    after: m.after,
    lines: [],
    data: { pairs, sendSeconds },
    chart: {
      title: `dm-latency: delivery latency per second (${pairs * 2} users × ${opts.rate} msg/s)`,
      of: 'delivery',
      markers: opts.warmup > 0 ? [{ x: m.beganAtElapsed, label: 'warm-up ends' }] : [],
    },
  };
}
