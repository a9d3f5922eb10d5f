import { rateProblem, UsageError } from '../cli.js';
import { sleep } from '../coordinator.js';
import type { CreateGroupResult } from '../ipc.js';
import { Measurement } from '../measurement.js';
import type { Context, Outcome } from '../scenario.js';

/**
 * One group of --members (creator included) spread over the gateways; the
 * creator sends --rate msg/s for --duration s and every other member records
 * send → receive (the first --warmup s unmeasured). Each acknowledged
 * message, warm-up ones included, must reach every connected member.
 */
export async function groupFanout(ctx: Context): Promise<Outcome> {
  const { opts, coord } = ctx;
  const problem = rateProblem(opts.rate, opts, 'lower --rate');
  if (problem) throw new UsageError(problem);
  const ids = await ctx.setupUsers(opts.members);
  const creatorId = ids.get(0);
  if (!creatorId) throw new Error('the group creator (user 0) could not connect');
  const members = [...ids].filter(([i]) => i !== 0).map(([, id]) => id);
  coord.phase = 'create group';
  const group = await coord.call<CreateGroupResult>(coord.workerOf(0), {
    type: 'create-group',
    creator: 0,
    title: `bench ${ctx.runId}`,
    members,
  });
  if (!group.conversationId) throw new Error(`the group could not be created: ${group.error}`);
  ctx.note(`group of ${members.length + 1} created in ${group.ms.toFixed(0)} ms`);
  // Let conversation.updated reach every member session before the first message.
  await sleep(1000);
  const m = await Measurement.start(ctx, opts.warmup);
  ctx.note(
    `1 sender at ${opts.rate} msg/s for ${opts.warmup} s of warm-up + ${opts.duration} s → ${members.length} recipients ` +
      `(${(opts.rate * members.length).toFixed(0)} deliveries/s)`,
  );
  const sending = coord.call(coord.workerOf(0), { type: 'send', ratePerUser: opts.rate, durationMs: (opts.warmup + opts.duration) * 1000, bodySize: opts.bodySize });
  await m.begin('send');
  await sending;
  const sendSeconds = m.seconds();
  const { lost, lostInWarmup, unanswered } = await coord.drain(m.window, members.length);
  await m.end();
  const measured = m.window;
  return {
    parameters: {
      members: members.length + 1,
      connected: ids.size,
      rate: opts.rate,
      duration: opts.duration,
      warmup: opts.warmup,
      gateways: opts.urls.length,
      workers: opts.workers,
    },
    measured,
    measuredSeconds: sendSeconds,
    lost,
    unanswered,
    warmup: m.warmup(members.length, lostInWarmup),
    cpu: m.cpu(),
    target: 'delivery p99',
    before: m.before,
    after: m.after,
    lines: [
      `group            ${members.length + 1} members (${ids.size} connected of ${opts.members}), created in ${group.ms.toFixed(0)} ms; ` +
        `${lost} of ${measured.counters.acked * members.length} expected deliveries missing`,
    ],
    data: { conversationId: group.conversationId, createMs: group.ms, recipients: members.length, sendSeconds },
    chart: {
      title: `group-fanout: delivery latency per second (${members.length + 1} members, ${opts.rate} msg/s)`,
      of: 'delivery',
      markers: opts.warmup > 0 ? [{ x: m.beganAtElapsed, label: 'warm-up ends' }] : [],
    },
  };
}
