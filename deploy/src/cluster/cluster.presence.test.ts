import { describe, expect, it } from 'vitest';
import { DEFAULT_PRESENCE_TTL_MS } from '@chat/presence';
import { ChatClient, type EventFrame } from '@chat/testkit/chat-client';
import { SteadyLoad } from '@chat/testkit/cluster-load';
import { expectNothingLostOrDoubled, useCluster } from '@chat/testkit/cluster-fixture';

const { start, login, track, senders } = useCluster();

/** Presence heartbeats and lease as shipped (PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS): the tests check the defaults' promises. */
const HEARTBEAT_MS = 3000;
const OFFLINE_WITHIN_MS = 10_000;

type Presence = { userId: string; online: boolean; lastSeen: number | null };

const presenceOf = (userId: string) => (e: EventFrame) => e.ev === 'presence' && e.userId === userId;

/** The PRESENCE_TTL_MS the cluster runs with (the default). */
const PRESENCE_TTL_MS = DEFAULT_PRESENCE_TTL_MS;

/**
 * presence.get, waiting out `unavailable`: a new cluster's presence meets an
 * empty Redis, which it cannot tell from lost data, so for one PRESENCE_TTL_MS
 * it answers unavailable for users without a session rather than offline.
 */
async function presence(client: ChatClient, userIds: string[]): Promise<Presence[]> {
  const deadline = Date.now() + PRESENCE_TTL_MS + 2000;
  for (;;) {
    const reply = await client.request('presence.get', { userIds });
    if (reply.ok) return (reply as unknown as { presence: Presence[] }).presence;
    if (reply.error?.code !== 'unavailable' || Date.now() > deadline) throw new Error(`presence.get failed: ${reply.error?.code}: ${reply.error?.message}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `check` passes, polling; returns how long it took. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

describe('cluster presence on Redis: two presence instances, two gateways', () => {
  it('keeps a user on two devices online until both leave, as seen from another gateway', async () => {
    const c = await start(2, 1, { redis: true, presence: 2 });
    const [g1, g2] = c.gateways;
    const watcher = await login(g2!.url, 'Watcher');
    const phone = await login(g1!.url, 'Multi Device');
    await watcher.call('conversation.create_group', { title: 'devices', members: [phone.user.id] });
    const laptop = track(await ChatClient.connect(g2!.url, phone.token));
    expect(await presence(watcher, [phone.user.id])).toEqual([{ userId: phone.user.id, online: true, lastSeen: null }]);

    await phone.close();
    // One device left: still online, and no offline event.
    await new Promise((r) => setTimeout(r, 500));
    expect((await presence(watcher, [phone.user.id]))[0]!.online).toBe(true);
    expect(watcher.events.filter((e) => presenceOf(phone.user.id)(e) && e.online === false)).toEqual([]);

    const leftAt = Date.now();
    await laptop.close();
    const offline = await watcher.waitForEvent((e) => presenceOf(phone.user.id)(e) && e.online === false);
    expect(offline.lastSeen as number).toBeGreaterThanOrEqual(leftAt - 1000);
    expect((await presence(watcher, [phone.user.id]))[0]).toMatchObject({ online: false, lastSeen: offline.lastSeen });
  });

  it(`takes the users of a SIGKILLed gateway offline within ${OFFLINE_WITHIN_MS / 1000} s, seen by a user on another gateway`, async () => {
    const c = await start(2, 1, { redis: true, presence: 2 });
    const [g1, g2] = c.gateways;
    const watcher = await login(g2!.url, 'Survivor');
    const victim = await login(g1!.url, 'On Doomed Gateway');
    await watcher.call('conversation.create_group', { title: 'crash', members: [victim.user.id] });
    expect((await presence(watcher, [victim.user.id]))[0]!.online).toBe(true);

    const killedAt = Date.now();
    g1!.child.kill('SIGKILL');
    const event = await watcher.waitForEvent((e) => presenceOf(victim.user.id)(e) && e.online === false, OFFLINE_WITHIN_MS + 2000);
    const tookMs = Date.now() - killedAt;
    console.log(`presence: SIGKILLed gateway's user offline after ${tookMs} ms (lastSeen ${killedAt - (event.lastSeen as number)} ms before the kill)`);
    expect(tookMs).toBeLessThanOrEqual(OFFLINE_WITHIN_MS);
    expect((await presence(watcher, [victim.user.id]))[0]!.online).toBe(false);
  });

  it('relays typing across gateways to the other members only, and stops it when the typist goes quiet', async () => {
    const c = await start(2, 1, { redis: true, presence: 2, env: { TYPING_EXPIRY_MS: '1500' } });
    const [g1, g2] = c.gateways;
    const typist = await login(g1!.url, 'Typist');
    const reader = await login(g2!.url, 'Reader Far');
    const outsider = await login(g2!.url, 'Outsider Far');
    const { conversation } = await typist.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'typing', members: [reader.user.id] });
    await typist.call('typing', { conversationId: conversation.id, active: true });
    const on = await reader.waitForEvent((e) => e.ev === 'typing' && e.userId === typist.user.id);
    expect(on).toMatchObject({ conversationId: conversation.id, active: true });
    const startedQuiet = Date.now();
    const off = await reader.waitForEvent((e) => e.ev === 'typing' && e.userId === typist.user.id && e.active === false, 5000);
    expect(off.conversationId).toBe(conversation.id);
    expect(Date.now() - startedQuiet).toBeGreaterThanOrEqual(1000);
    expect(typist.events.filter((e) => e.ev === 'typing')).toEqual([]);
    expect(outsider.events.filter((e) => e.ev === 'typing')).toEqual([]);
  });

  it('stops a typist whose gateway was SIGKILLed: the reader on another gateway gets active: false within the typing expiry + 1.5 s', async () => {
    const TYPING_EXPIRY_MS = 1500;
    const c = await start(2, 1, { redis: true, presence: 2, env: { TYPING_EXPIRY_MS: String(TYPING_EXPIRY_MS) } });
    const [g1, g2] = c.gateways;
    const typist = await login(g1!.url, 'Doomed Typist');
    const reader = await login(g2!.url, 'Reader Survivor');
    const { conversation } = await typist.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'crash typing', members: [reader.user.id] });
    await typist.call('typing', { conversationId: conversation.id, active: true });
    await reader.waitForEvent((e) => e.ev === 'typing' && e.userId === typist.user.id && e.active === true);

    const killedAt = Date.now();
    g1!.child.kill('SIGKILL');
    const off = await reader.waitForEvent((e) => e.ev === 'typing' && e.userId === typist.user.id && e.active === false, TYPING_EXPIRY_MS + 5000);
    const tookMs = Date.now() - killedAt;
    console.log(`typing: SIGKILLed gateway's typist stopped after ${tookMs} ms (expiry ${TYPING_EXPIRY_MS} ms)`);
    expect(off.conversationId).toBe(conversation.id);
    expect(tookMs).toBeLessThanOrEqual(TYPING_EXPIRY_MS + 1500);
    // Exactly one stop, though two presence instances run expiry rounds.
    await new Promise((r) => setTimeout(r, 1500));
    expect(reader.events.filter((e) => e.ev === 'typing' && e.userId === typist.user.id).map((e) => e.active)).toEqual([true, false]);
  });

  it('keeps chat working while Redis is down (zero failed sends), and presence recovers within one heartbeat after it returns', async () => {
    const c = await start(2, 2, { redis: true, presence: 2 });
    const list = await senders(c, 6, 'redis');
    const watcher = list[0]!.client;
    const watched = (list[1]!.client.hello.user as { id: string }).id;
    // Presence is visible to contacts only.
    await watcher.call('conversation.open_dm', { userId: watched });
    expect((await presence(watcher, [watched]))[0]!.online).toBe(true);
    const load = new SteadyLoad(list, { intervalMs: 50, retryForMs: 10_000, tag: 'r' }).start();
    await new Promise((r) => setTimeout(r, 500));

    await c.redis!.kill('SIGKILL');
    const down = await watcher.request('presence.get', { userIds: [watched] });
    expect(down.ok).toBe(false);
    expect(down.error?.code).toBe('unavailable');
    await new Promise((r) => setTimeout(r, 2000));

    await c.redis!.restart();
    const restartedAt = Date.now();
    // Redis came back empty; the presence service sees it recover and asks every gateway for its sessions at once.
    const tookMs = await eventually(
      async () => {
        const reply = await watcher.request('presence.get', { userIds: [watched] });
        return reply.ok && (reply.presence as Presence[])[0]!.online;
      },
      HEARTBEAT_MS + 3000,
      'presence restored after Redis restarted',
    );
    console.log(`presence: correct again ${tookMs} ms after Redis restarted (heartbeat ${HEARTBEAT_MS} ms)`);
    expect(Date.now() - restartedAt, 'within one heartbeat interval').toBeLessThanOrEqual(HEARTBEAT_MS);
    await new Promise((r) => setTimeout(r, 500));
    await load.stop();
    expect(load.records.filter((r) => !r.ok)).toEqual([]);
    expect(await expectNothingLostOrDoubled(load, list)).toBeGreaterThan(50);
  });

  it('gives the same answers from both presence instances', async () => {
    const c = await start(1, 1, { redis: true, presence: 2 });
    const [g1] = c.gateways;
    const a = await login(g1!.url, 'Asker');
    const online = await login(g1!.url, 'Is Online');
    const gone = await login(g1!.url, 'Was Here');
    // Presence is visible to contacts only.
    await a.call('conversation.create_group', { title: 'asked about', members: [online.user.id, gone.user.id] });
    // Closed at once: its up and down may be handled by different instances in either order,
    // and either way the user ends offline with a lastSeen.
    await gone.close();
    await eventually(async () => (await presence(a, [gone.user.id]))[0]!.online === false, 5000, 'offline recorded');
    // Queries are spread over both instances (queue group): twenty answers, all the same.
    const answers = await Promise.all(Array.from({ length: 20 }, () => presence(a, [online.user.id, gone.user.id, 'nobody-here'])));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(answers[0]!.map((p) => p.online)).toEqual([true, false, false]);
    expect(answers[0]![1]!.lastSeen).not.toBeNull();
    // Both instances are really serving: each counted queries.
    const counts = await Promise.all(
      c.presences.map(async (p) => {
        const text = await (await fetch(`${p.opsUrl}/metrics`)).text();
        return [...text.matchAll(/^chat_presence_queries_total\{outcome="ok"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      }),
    );
    expect(counts.every((n) => n > 0), `queries per instance: ${counts.join(', ')}`).toBe(true);
  });
});
