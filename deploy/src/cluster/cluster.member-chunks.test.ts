import { describe, expect, it } from 'vitest';
import { parseMetricsText } from '@chat/platform';
import { ChatClient, type EventFrame, devLogin } from '@chat/testkit/chat-client';
import { useCluster } from '@chat/testkit/cluster-fixture';

const { start, login, track } = useCluster();

/** A small nats-server limit, so that one change's marks of MEMBERS members (about 45 bytes each) need several events. */
const MAX_PAYLOAD = 64 * 1024;
/** Frames that fit such a server (the roles refuse to start with bigger ones): add_members pages of PAGE ids fit. */
const MAX_FRAME_BYTES = 32 * 1024;
const MEMBERS = 3000;
/** Members with sessions: half on each gateway. */
const CONNECTED = 16;
const PAGE = 500;
const MESSAGES = 3;

type View = { id: string; title: string; memberCount: number; readSeq: number; unread: number; members: { userId: string }[] };
const viewOf = (e: EventFrame): View => e.conversation as View;

async function inBatches<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => make(i + k)))));
  return out;
}

/** Messages nats-server delivered to the gateways' connections so far (events and replies). */
async function toGateways(monitorUrl: string): Promise<number> {
  const connz = (await (await fetch(`${monitorUrl}/connz?limit=1024`)).json()) as { connections: { name?: string; out_msgs: number }[] };
  return connz.connections.filter((c) => c.name?.startsWith('gateway-')).reduce((n, c) => n + c.out_msgs, 0);
}

describe('cluster: a membership change of a group whose marks exceed the bus’s max_payload', () => {
  it(`add, remove and rename in a ${MEMBERS}-member group reach every connected session exactly once, with its own marks, through a nats-server with a ${MAX_PAYLOAD / 1024} KiB max_payload`, async () => {
    const c = await start(2, 1, { natsMaxPayload: MAX_PAYLOAD, env: { MAX_GROUP_MEMBERS: String(MEMBERS + 10), RATE_LIMIT_PER_SEC: '1000', RATE_LIMIT_BURST: '2000', MAX_FRAME_BYTES: String(MAX_FRAME_BYTES) } });
    const gw = (i: number) => c.gateways[i % 2]!.url;
    const name = (i: number) => `Chunked member number ${i}`;
    // Member 0 owns the group; members 0..CONNECTED-1 have sessions, member 1 a second one on the other gateway.
    const connected = await inBatches(CONNECTED, 8, (i) => login(gw(i), name(i)));
    const second = track(await ChatClient.connect(gw(2), connected[1]!.token));
    const others = await inBatches(MEMBERS - CONNECTED, 100, async (i) => (await devLogin(gw(i), name(CONNECTED + i))).user.id);
    const newcomer = await login(gw(1), 'Chunked newcomer');
    const [owner] = connected;
    const ids = [...connected.map((m) => m.user.id), ...others];

    const { conversation } = await owner!.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'chunked', members: ids.slice(1, PAGE) });
    const group = conversation.id;
    for (let i = PAGE; i < MEMBERS; i += PAGE) await owner!.call('conversation.add_members', { conversationId: group, userIds: ids.slice(i, i + PAGE) });
    for (let i = 0; i < MESSAGES; i++) await owner!.call('message.send', { conversationId: group, clientMsgId: `c${i}`, body: `hello ${i}` });
    await connected[3]!.call('receipt.mark', { conversationId: group, readSeq: 2 });

    const sessions = [...connected, second];
    const isGroupView = (e: EventFrame) => e.ev === 'conversation.updated' && viewOf(e).id === group;
    // Every session heard of the whole group (the last page's change) and of the messages.
    await Promise.all(sessions.map((s) => s.waitForEvent((e) => isGroupView(e) && viewOf(e).memberCount === MEMBERS, 30_000)));
    await Promise.all(sessions.map((s) => s.waitForEvents((e) => e.ev === 'message.new', MESSAGES, 30_000)));
    await connected[3]!.waitForEvent((e) => e.ev === 'receipt', 10_000);
    const from = new Map([...sessions, newcomer].map((s) => [s, s.events.length]));

    const busBefore = await toGateways(c.nats.monitorUrl);
    await owner!.call('conversation.add_members', { conversationId: group, userIds: [newcomer.user.id] });
    const removed = connected[5]!;
    await owner!.call('conversation.remove_member', { conversationId: group, userId: removed.user.id });
    await owner!.call('conversation.rename', { conversationId: group, title: 'renamed' });
    const stayers = [...sessions.filter((s) => s !== removed), newcomer];
    await Promise.all(stayers.map((s) => s.waitForEvent((e) => isGroupView(e) && viewOf(e).title === 'renamed', 30_000)));
    await removed.waitForEvent((e) => e.ev === 'conversation.removed', 10_000);
    // Time for a duplicate to arrive, had one been sent.
    await new Promise((r) => setTimeout(r, 500));
    const busMessages = (await toGateways(c.nats.monitorUrl)) - busBefore;

    const changes = (s: ChatClient) => s.events.slice(from.get(s)).filter(isGroupView).map(viewOf);
    for (const s of stayers) {
      const userId = s === second ? connected[1]!.user.id : (s as ChatClient & { user: { id: string } }).user.id;
      const views = changes(s);
      // add, remove, rename: one conversation.updated each, in that order.
      expect(views.map((v) => [v.memberCount, v.title]), userId).toEqual([
        [MEMBERS + 1, 'chunked'],
        [MEMBERS, 'chunked'],
        [MEMBERS, 'renamed'],
      ]);
      for (const v of views) {
        // The owner sent every message; the newcomer joined after them (nothing unread); member 3 read up to 2.
        const [readSeq, unread] = s === owner ? [0, 0] : s === newcomer ? [MESSAGES, 0] : userId === connected[3]!.user.id ? [2, 1] : [0, MESSAGES];
        expect({ userId, readSeq: v.readSeq, unread: v.unread }).toEqual({ userId, readSeq, unread });
        // A bounded list that always has the member themself.
        expect(v.members.map((m) => m.userId)).toContain(userId);
      }
    }
    expect(changes(removed).map((v) => v.memberCount)).toEqual([MEMBERS + 1]);

    // Chunked: more than one event per gateway per change, and nothing refused.
    console.log(`bus messages to the gateways for add + remove + rename of a ${MEMBERS}-member group: ${busMessages}`);
    expect(busMessages).toBeGreaterThan(3 * 2 * 2);
    const host = c.actorHosts[0]!;
    const failures = parseMetricsText(await (await fetch(`${host.opsUrl}/metrics`)).text()).filter((m) => m.name === 'chat_event_publish_failures_total');
    expect(failures.reduce((n, m) => n + m.value, 0)).toBe(0);
    expect(host.output()).not.toContain('could not publish');
  }, 240_000);
});
