import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsText } from '@chat/platform';
import { ChatClient, type Reply } from '@chat/testkit/chat-client';
import { type RedisServerProcess, startRedisServer } from '@chat/testkit/servers';
import { type InProcessSystem, startInProcess, tempDir } from '@chat/testkit/system-under-test';

interface PresenceJson {
  userId: string;
  online: boolean;
  lastSeen: number | null;
}

// Presence in a real redis-server (no persistence, as production runs it),
// which the test kills and restarts empty on the same port. Short timings so
// the rebuild window (one PRESENCE_TTL_MS) is quick to observe.
const HEARTBEAT_MS = 1000;
const TTL_MS = 3000;

const dir = tempDir();
let redis: RedisServerProcess;
let sys: InProcessSystem;
const clients: ChatClient[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  sys = await startInProcess({ dataDir: dir.path, env: {
      REDIS_URL: redis.url,
      PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      PRESENCE_TTL_MS: String(TTL_MS),
      // The test polls presence.get as fast as it is answered.
      RATE_LIMIT_PER_SEC: '100000',
      RATE_LIMIT_BURST: '100000',
    },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sys?.stop();
  await redis?.stop();
  dir.remove();
});

async function onlineUsersGauge(): Promise<number> {
  const samples = parseMetricsText(await (await fetch(`${sys.baseUrl}/metrics`)).text());
  return samples.find((s) => s.name === 'chat_presence_online_users')?.value ?? NaN;
}

describe('presence across a Redis restart (empty, same port)', () => {
  it('never answers offline for an online user: only online or unavailable, and online again within one lease', async () => {
    const asker = await ChatClient.login(sys.baseUrl, 'Asker');
    clients.push(asker);
    const online: (ChatClient & { user: { id: string } })[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await ChatClient.login(sys.baseUrl, `Online ${i}`);
      clients.push(c);
      online.push(c);
    }
    // Presence is shown to contacts: one group with everyone.
    await asker.call('conversation.create_group', { title: 'Watchers', members: online.map((c) => c.user.id) });
    const userIds = online.map((c) => c.user.id);
    const get = () => asker.request('presence.get', { userIds });
    const allOnline = (r: Reply) => r.ok && (r as unknown as { presence: PresenceJson[] }).presence.every((p) => p.online);
    const deadline = performance.now() + 10_000;
    while (!allOnline(await get())) expect(performance.now()).toBeLessThan(deadline);
    expect(await onlineUsersGauge()).toBe(6);

    // Poll as fast as replies come while Redis dies and comes back empty.
    const answers: { at: number; reply: Reply }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        answers.push({ at: performance.now(), reply: await get() });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    const back = performance.now();
    // Online again within the rebuild window (one lease), with a margin for a loaded machine.
    let onlineAgainAt: number | undefined;
    while (performance.now() < back + TTL_MS + 5000) {
      const last = answers.at(-1);
      if (last && last.at > back && allOnline(last.reply)) {
        onlineAgainAt = last.at;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // Then keep watching past the end of the window.
    await new Promise((r) => setTimeout(r, TTL_MS + 500));
    polling = false;
    await poller;

    const wrong = answers.filter((a) => !(allOnline(a.reply) || (!a.reply.ok && a.reply.error?.code === 'unavailable')));
    expect(wrong.map((a) => JSON.stringify(a.reply).slice(0, 300)), 'answers that were neither all online nor unavailable').toEqual([]);
    const unavailable = answers.filter((a) => !a.reply.ok).length;
    expect(unavailable, 'Redis was down for a while: some answers were unavailable').toBeGreaterThan(0);
    expect(answers.length).toBeGreaterThan(50);
    expect(onlineAgainAt, 'online again within the rebuild window').toBeDefined();
    expect(onlineAgainAt! - back).toBeLessThan(TTL_MS + 5000);
    // The cluster-wide online count is rebuilt from the re-reports, each user once.
    expect(await onlineUsersGauge()).toBe(6);
  }, 60_000);
});
