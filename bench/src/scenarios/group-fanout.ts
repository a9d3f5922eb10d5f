import { rateProblem, UsageError } from '../cli.js';
import { sleep } from '../coordinator.js';
import type { CreateGroupResult } from '../ipc.js';
import type { Context, Outcome } from '../scenario.js';

/**
 * One group of --members (creator included) spread over the gateways; the
 * creator sends --rate msg/s for --duration s and every other member records
 * send → receive. Each acknowledged message must reach every connected member.
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
  const before = await ctx.scrape();
  const measured = coord.openWindow();
  coord.phase = 'send';
  ctx.note(`1 sender at ${opts.rate} msg/s for ${opts.duration} s → ${members.length} recipients (${(opts.rate * members.length).toFixed(0)} deliveries/s)`);
  await coord.call(coord.workerOf(0), { type: 'send', ratePerUser: opts.rate, durationMs: opts.duration * 1000 });
  const sendSeconds = measured.seconds();
  const { lost, unanswered } = await coord.drain(measured, members.length);
  coord.closeWindow(measured);
  const after = await ctx.scrape();
  return {
    parameters: { members: members.length + 1, connected: ids.size, rate: opts.rate, duration: opts.duration, gateways: opts.urls.length, workers: opts.workers },
    measured,
    measuredSeconds: sendSeconds,
    lost,
    unanswered,
    before,
    after,
    lines: [
      `group            ${members.length + 1} members (${ids.size} connected of ${opts.members}), created in ${group.ms.toFixed(0)} ms; ` +
        `${lost} of ${measured.counters.acked * members.length} expected deliveries missing`,
    ],
    data: { conversationId: group.conversationId, createMs: group.ms, recipients: members.length, sendSeconds },
    chart: { title: `group-fanout: delivery latency per second (${members.length + 1} members, ${opts.rate} msg/s)`, of: 'delivery' },
  };
}
