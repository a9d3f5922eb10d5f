import { rateProblem, UsageError } from '../cli.js';
import type { Context, Outcome } from '../scenario.js';

/**
 * --users in DM pairs (the two ends on different gateways when there are
 * several), each user sending --rate msg/s for --duration s, paced by timer
 * with a random phase and without waiting for acks. The receiver records
 * send → receive, the sender send → ack; after the sends, every acknowledged
 * message must arrive within 10 s or it counts as lost.
 */
export async function dmLatency(ctx: Context): Promise<Outcome> {
  const { opts, coord } = ctx;
  const problem = rateProblem(opts.rate, opts, 'lower --rate');
  if (problem) throw new UsageError(problem);
  const ids = await ctx.setupUsers(opts.users);
  const pairs = await ctx.openPairs(ids, opts.users);
  if (pairs === 0) throw new Error('no DM pair could be set up; see the messages above');
  const before = await ctx.scrape();
  const measured = coord.openWindow();
  coord.phase = 'send';
  ctx.note(`${pairs * 2} users sending ${opts.rate} msg/s each for ${opts.duration} s (${pairs * 2 * opts.rate} msg/s in total)`);
  await coord.callAll({ type: 'send', ratePerUser: opts.rate, durationMs: opts.duration * 1000 });
  const sendSeconds = measured.seconds();
  const { lost, unanswered } = await coord.drain(measured, 1);
  coord.closeWindow(measured);
  const after = await ctx.scrape();
  return {
    parameters: { users: opts.users, pairs, ratePerUser: opts.rate, totalRate: pairs * 2 * opts.rate, duration: opts.duration, gateways: opts.urls.length, workers: opts.workers },
    measured,
    measuredSeconds: sendSeconds,
    lost,
    unanswered,
    before,
    after,
    lines: [],
    data: { pairs, sendSeconds },
    chart: { title: `dm-latency: delivery latency per second (${pairs * 2} users × ${opts.rate} msg/s)`, of: 'delivery' },
  };
}
