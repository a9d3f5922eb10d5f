import { describe, expect, it } from 'vitest';
import { ChatClient, type Reply, UpgradeRefused, devLogin, refusedUpgrade } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Logs `count` users in (dev login registers them), for group members; returns their ids. */
async function registerUsers(baseUrl: string, prefix: string, count: number): Promise<string[]> {
  const logins = await Promise.all(Array.from({ length: count }, (_, i) => devLogin(baseUrl, `${prefix}-${i}`)));
  return logins.map((l) => l.user.id);
}

// A slow refill (2 tokens/s) so that what a burst of 20 buys cannot change while a test runs.
describe('standalone: ops are charged by their cost, per user', () => {
  const { system, login, track } = useStandalone({ RATE_LIMIT_PER_SEC: '2', RATE_LIMIT_BURST: '20', RATE_LIMIT_STRIKES: '1000' });

  it('charges a group create by its member count: many small groups pass, a big one is refused at once with the wait for its whole cost', async () => {
    const members = await registerUsers(system().baseUrl, 'cost-member', 100);
    const owner = await login('Cost Owner');
    // Nine 2-member groups cost 2 tokens each: 18 of the 20.
    for (let i = 0; i < 9; i++) {
      const reply = await owner.request('conversation.create_group', { title: `small ${i}`, members: members.slice(0, 2) });
      expect(reply.ok).toBe(true);
    }
    // A 100-member group costs 11: refused, saying how long until 11 tokens are there (seconds, at 2/s).
    const big = await owner.request('conversation.create_group', { title: 'big', members });
    expect(big).toMatchObject({ ok: false, error: { code: 'rate_limited', message: expect.stringMatching(/create_group counts as 11 requests/) } });
    expect(big.error!.retryAfterMs).toBeGreaterThan(2000);
    // The refusal cost only the frame's own token: an ordinary request still passes.
    expect((await owner.request('ping')).ok).toBe(true);
    // The same big group is no problem for a user with a full budget.
    const fresh = await login('Cost Fresh');
    expect((await fresh.request('conversation.create_group', { title: 'big', members })).ok).toBe(true);
  });

  it('charges add_members by the members it adds', async () => {
    const members = await registerUsers(system().baseUrl, 'add-member', 100);
    const adder = await login('Cost Adder');
    // 2 tokens for the group, 11 for adding 99 members: 7 left, and the next 99 cost 11 again.
    const created = await adder.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'adds', members: members.slice(0, 1) });
    const add = (userIds: string[]) => adder.request('conversation.add_members', { conversationId: created.conversation.id, userIds });
    expect((await add(members.slice(1))).ok).toBe(true);
    expect(await add(members.slice(1))).toMatchObject({ ok: false, error: { code: 'rate_limited', message: expect.stringMatching(/add_members counts as 11 requests/) } });
    // Adding one member costs 2, which what is left covers.
    expect((await add(members.slice(0, 1))).ok).toBe(true);
  });

  it('charges message.history by page size', async () => {
    await login('Page Peer');
    const countPassing = async (name: string, limit: number) => {
      const c = await login(name);
      const { conversation } = await c.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: 'page-peer' });
      let passed = 0;
      for (let i = 0; i < 45; i++) {
        const reply = await c.request('message.history', { conversationId: conversation.id, limit });
        if (!reply.ok) {
          expect(reply.error).toMatchObject({ code: 'rate_limited', retryAfterMs: expect.any(Number) });
          break;
        }
        passed++;
      }
      return passed;
    };
    // 19 tokens after open_dm: a page of 200 costs 9, so two pass (three if refills come in between); a page of 1 costs 1.
    const big = await countPassing('Page Big', 200);
    expect(big).toBeGreaterThanOrEqual(2);
    expect(big).toBeLessThanOrEqual(3);
    expect(await countPassing('Page Small', 1)).toBeGreaterThanOrEqual(19);
  });

  it("shares one budget among a user's sockets, kept across a reconnect, and apart from other users", async () => {
    const first = await login('Shared');
    // 20 pass, then 30 more frames sent at once: refused, each still costing a token, down to 20 owed (10 s at 2/s).
    const replies = await Promise.all(Array.from({ length: 50 }, () => first.request('ping')));
    expect(replies.filter((r) => r.ok)).toHaveLength(20);
    const second = track(await ChatClient.connect(system().baseUrl, first.token));
    const refused = await second.request('ping');
    expect(refused).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect(refused.error!.retryAfterMs).toBeGreaterThan(5000);
    // Every socket gone and back: the budget is still the drained one.
    await first.close();
    await second.close();
    const again = track(await ChatClient.connect(system().baseUrl, first.token));
    expect(await again.request('ping')).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // Another user is not affected.
    const other = await login('Not Shared');
    expect((await other.request('ping')).ok).toBe(true);
  });
});

describe('standalone: sockets per user', () => {
  const { system, login, track } = useStandalone({ MAX_CONNECTIONS_PER_USER: '3' });

  it('refuses the upgrade over MAX_CONNECTIONS_PER_USER with 429 and a clear body, and takes one again once a socket closes', async () => {
    const first = await login('Many Tabs');
    track(await ChatClient.connect(system().baseUrl, first.token));
    track(await ChatClient.connect(system().baseUrl, first.token));
    const over = await ChatClient.connect(system().baseUrl, first.token).then(
      () => null,
      (e: unknown) => e,
    );
    expect(over).toBeInstanceOf(UpgradeRefused);
    expect((over as UpgradeRefused).status).toBe(429);
    const refused = await refusedUpgrade(system().baseUrl, first.token);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatch(/too many connections.*3 open sockets.*MAX_CONNECTIONS_PER_USER/);
    // Other users are not affected, and the user's own sockets keep working.
    expect((await login('Few Tabs')).hello).toMatchObject({ ev: 'hello' });
    expect((await first.request('ping')).ok).toBe(true);
    // A closed socket frees its place.
    await first.close();
    const replacement = await connectEventually(system().baseUrl, first.token);
    track(replacement);
    expect((await replacement.request('ping')).ok).toBe(true);
    // Counted by reason (at least the two refusals above; the reconnect may have met a few more).
    const metrics = await (await fetch(`${system().baseUrl}/metrics`)).text();
    const rejected = /chat_gateway_upgrades_rejected_total\{reason="too_many_connections"\} (\d+)/.exec(metrics);
    expect(Number(rejected?.[1])).toBeGreaterThanOrEqual(2);
  });
});

/**
 * Connects, retrying a 429 for a moment: the client sees its close before the
 * gateway may have run its close handler.
 */
async function connectEventually(baseUrl: string, token: string): Promise<ChatClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await ChatClient.connect(baseUrl, token);
    } catch (err) {
      if (!(err instanceof UpgradeRefused && err.status === 429) || attempt >= 50) throw err;
      await sleep(20);
    }
  }
}

describe('standalone: a sustained flood', () => {
  const RATE = 20;
  const { login } = useStandalone({ RATE_LIMIT_PER_SEC: String(RATE), RATE_LIMIT_BURST: '20', RATE_LIMIT_STRIKES: '30' });

  it('is closed with 4029 at 1.5 times the rate although some of its frames pass, while a client honouring retryAfterMs is not', async () => {
    const flooder = await login('Steady Flood');
    const polite = await login('Polite Pusher');
    let politeClosed: number | undefined;
    void polite.closed().then((c) => (politeClosed = c.code));
    let floodClosedAt: number | undefined = undefined;

    // The flood: 30 pings/s on average, whatever it is told (catching up if the test process stalls).
    const floodReplies: Reply[] = [];
    const started = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - started) * RATE * 1.5) / 1000);
      for (; sent < due; sent++) void flooder.request('ping').then((r) => floodReplies.push(r), () => {});
    }, 10);
    const politeRun = (async () => {
      // One request at a time, as fast as allowed; after rate_limited, nothing until retryAfterMs has passed.
      // It goes on for a second after the flood is closed: longer than the flood lasted.
      let ok = 0;
      let limited = 0;
      while (politeClosed === undefined && (floodClosedAt === undefined || performance.now() - floodClosedAt < 1000)) {
        const reply = await polite.request('ping');
        if (reply.ok) ok++;
        else {
          expect(reply.error).toMatchObject({ code: 'rate_limited', retryAfterMs: expect.any(Number) });
          limited++;
          await sleep(reply.error!.retryAfterMs!);
        }
      }
      return { ok, limited };
    })();
    const closed = await flooder.closed();
    floodClosedAt = performance.now();
    clearInterval(timer);
    expect(closed.code).toBe(4029);
    // Frames got through past the burst, so "refused in a row" would never have closed it.
    expect(floodReplies.filter((r) => r.ok).length).toBeGreaterThan(20);
    expect(floodReplies.some((r) => r.error?.code === 'rate_limited')).toBe(true);

    const { ok, limited } = await politeRun;
    expect(politeClosed).toBeUndefined();
    // It pushed against the limit the whole time and was refused often, yet stays open and usable.
    expect(limited).toBeGreaterThan(10);
    expect(ok).toBeGreaterThan(20);
  });
});
