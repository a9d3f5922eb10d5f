import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '@chat/proto';
import type { ChatClient } from '@chat/testkit/chat-client';
import { useCluster } from '@chat/testkit/cluster-fixture';

const { start: startCluster, login } = useCluster();

const MEMBERS = 1000;
const MESSAGES = 10;
/** Bus messages one group message may cost: the request, its reply, one event per gateway (2). */
const MAX_BUS_MESSAGES_PER_MESSAGE = 4;

interface ConnzSub {
  subject: string;
  msgs: number;
}
interface Connz {
  connections: { cid: number; name?: string; out_msgs: number; subscriptions_list_detail?: ConnzSub[] }[];
}

/**
 * What nats-server delivered, from its monitoring endpoint: every message to
 * a gateway (events and replies), and every actor request delivered to an
 * actor host (its shard subscriptions; the host's lease renewals, JetStream
 * traffic on other subjects, are left out).
 */
async function deliveries(monitorUrl: string): Promise<{ toGateways: number; toActorShards: number }> {
  const res = await fetch(`${monitorUrl}/connz?subs=detail&limit=1024`);
  const connz = (await res.json()) as Connz;
  let toGateways = 0;
  let toActorShards = 0;
  for (const c of connz.connections) {
    if (c.name?.startsWith('gateway-')) toGateways += c.out_msgs;
    if (c.name?.startsWith('actors-')) {
      for (const sub of c.subscriptions_list_detail ?? []) if (sub.subject.startsWith('chat.shard.')) toActorShards += sub.msgs;
    }
  }
  return { toGateways, toActorShards };
}

async function inChunks<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => make(i + k)))));
  return out;
}

const isIn = (conversationId: string) => (e: { ev: string; message?: unknown; conversation?: unknown }) =>
  (e.ev === 'message.new' && (e.message as { conversationId: string }).conversationId === conversationId) ||
  (e.ev === 'conversation.updated' && (e.conversation as { id: string }).id === conversationId);

describe('cluster: fan-out per gateway', () => {
  it(`a message into a ${MEMBERS}-member group on 2 gateways costs at most ${MAX_BUS_MESSAGES_PER_MESSAGE} bus messages and reaches every member once`, async () => {
    const c = await startCluster(2, 1);
    const members: ChatClient[] = await inChunks(MEMBERS, 50, (i) => login(c.gateways[i % 2]!.url, `Fan ${i}`));
    const [owner] = members as (ChatClient & { user: { id: string } })[];
    const ids = (members as (ChatClient & { user: { id: string } })[]).map((m) => m.user.id);
    const { conversation } = await owner!.call<{ conversation: { id: string } }>('conversation.create_group', {
      title: 'fan-out',
      members: ids.slice(1),
    });
    const group = conversation.id;
    // Every member heard of the group: both gateways follow it.
    await Promise.all(members.map((m) => m.waitForEvent((e) => isIn(group)(e) && e.ev === 'conversation.updated', 20_000)));

    const before = await deliveries(c.nats.monitorUrl);
    for (let i = 0; i < MESSAGES; i++) await owner!.call('message.send', { conversationId: group, clientMsgId: `f${i}`, body: `to all ${i}` });
    await Promise.all(members.map((m) => m.waitForEvents((e) => e.ev === 'message.new' && isIn(group)(e), MESSAGES, 20_000)));
    const after = await deliveries(c.nats.monitorUrl);

    for (const m of members) expect(m.messagesIn(group).map((x) => x.seq)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    const toGateways = (after.toGateways - before.toGateways) / MESSAGES;
    const toActors = (after.toActorShards - before.toActorShards) / MESSAGES;
    console.log(`bus messages per group message: ${toGateways} to gateways + ${toActors} to actor hosts (${MEMBERS} members on 2 gateways)`);
    expect(toActors).toBeGreaterThanOrEqual(1);
    expect(toGateways).toBeGreaterThanOrEqual(2);
    expect(toGateways + toActors).toBeLessThanOrEqual(MAX_BUS_MESSAGES_PER_MESSAGE);

    // A membership change (here a rename) reaches every member as their own
    // view, yet crosses the bus once per gateway, not once per member.
    const beforeRename = await deliveries(c.nats.monitorUrl);
    await owner!.call('conversation.rename', { conversationId: group, title: 'renamed' });
    const renamed = (e: { ev: string; conversation?: unknown }): boolean =>
      e.ev === 'conversation.updated' && (e.conversation as { id: string; title: string }).id === group && (e.conversation as { title: string }).title === 'renamed';
    const views = await Promise.all(members.map((m) => m.waitForEvent(renamed, 20_000)));
    const afterRename = await deliveries(c.nats.monitorUrl);
    const renameToGateways = afterRename.toGateways - beforeRename.toGateways;
    console.log(`bus messages for a rename of a ${MEMBERS}-member group: ${renameToGateways} to gateways`);
    // The reply to the owner's gateway, and one ConversationViews per gateway.
    expect(renameToGateways).toBeLessThanOrEqual(3);
    for (const [i, e] of views.entries()) {
      const view = e.conversation as { members: { userId: string }[]; memberCount: number; unread: number; readSeq: number; lastSeq: number };
      // Member paging: a bounded list, the whole count, and always the member themself.
      expect(view.members).toHaveLength(DEFAULT_LIMITS.viewMembers);
      expect(view.memberCount).toBe(MEMBERS);
      expect(view.members.map((m) => m.userId)).toContain(ids[i]);
      expect(view.lastSeq).toBe(MESSAGES);
      // Each member's own marks: the owner sent every message, the others read none.
      expect(view.unread).toBe(i === 0 ? 0 : MESSAGES);
      expect(view.readSeq).toBe(0);
    }
  }, 120_000);

  it('a member added to a group on a gateway that did not follow it gets the next messages; a removed one stops getting them', async () => {
    const c = await startCluster(2, 2);
    const [g1, g2] = c.gateways;
    const ann = await login(g1!.url, 'Ann Rooms');
    const bob = await login(g2!.url, 'Bob Rooms');
    const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'rooms', members: [] });
    const group = conversation.id;
    await ann.call('message.send', { conversationId: group, clientMsgId: 'r1', body: 'before bob' });

    // Gateway 2 has no member of the group until bob is added: it starts following it with the add.
    await ann.call('conversation.add_members', { conversationId: group, userIds: [bob.user.id] });
    // No wait for bob's conversation.updated: the sends race the gateway's subscription, which the backfill covers.
    for (let i = 2; i <= 20; i++) await ann.call('message.send', { conversationId: group, clientMsgId: `r${i}`, body: `m${i}` });
    await bob.waitForEvents((e) => e.ev === 'message.new' && isIn(group)(e), 19, 10_000);
    expect(bob.messagesIn(group).map((m) => m.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));

    await ann.call('conversation.remove_member', { conversationId: group, userId: bob.user.id });
    await bob.waitForEvent((e) => e.ev === 'conversation.removed', 10_000);
    await ann.call('message.send', { conversationId: group, clientMsgId: 'after', body: 'bob is gone' });
    await ann.waitForEvents((e) => e.ev === 'message.new' && isIn(group)(e), 21, 10_000);
    // Bob's gateway stopped following the group; give a stray event time to arrive anyway.
    await new Promise((r) => setTimeout(r, 300));
    expect(bob.messagesIn(group).map((m) => m.body)).not.toContain('bob is gone');
  }, 60_000);
});
