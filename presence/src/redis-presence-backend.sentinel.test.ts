import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { type RedisServerProcess, type ServerProcess, startRedisSentinel, startRedisServer } from '@chat/testkit/servers';
import { DEFAULT_PRESENCE_KEY_PREFIX, presenceEnvSchema } from './config.js';
import { RedisPresenceBackend } from './redis-presence-backend.js';
import { describeRedisTarget, parseRedisUrl } from './redis-target.js';

const T0 = 1_700_000_000_000;

describe('REDIS_URL', () => {
  it('takes one server, or the primary a list of sentinels names', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'server', url: 'redis://127.0.0.1:6379/2' });
    const target = parseRedisUrl('redis-sentinel://:s%40cret@10.0.0.1,10.0.0.2:26380,[::1]:26381/chat/3');
    expect(target).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      master: 'chat',
      db: 3,
      password: 's@cret',
    });
    expect(describeRedisTarget(target)).toBe('redis-sentinel://10.0.0.1:26379,10.0.0.2:26380,::1:26381/chat/3');
    expect(describeRedisTarget(parseRedisUrl('redis://:pw@h:1'))).toBe('redis://:***@h:1');
  });

  it('is refused before start when it names no sentinel, no primary, or a bad port', () => {
    const problems = (url: string) => {
      const r = presenceEnvSchema.safeParse({ REDIS_URL: url });
      return r.success ? [] : r.error.issues.map((i) => i.message);
    };
    expect(problems('http://x')).toEqual(['must be a redis://, rediss:// or redis-sentinel:// URL']);
    expect(problems('redis-sentinel://h:26379')[0]).toContain('redis-sentinel://[:password@]host[:port]');
    expect(problems('redis-sentinel://h:99999/chat')).toEqual(['"h:99999" is not a sentinel host[:port]']);
    expect(problems('redis-sentinel://h/chat/x')).toEqual(['the database of a redis-sentinel:// URL must be a number, got "x"']);
    expect(problems('redis-sentinel://:%zz@h/chat')).toEqual(['the password of a redis-sentinel:// URL has a bad %-escape']);
    expect(problems('redis-sentinel://h1:1,h2/chat')).toEqual([]);
  });
});

describe('RedisPresenceBackend through Redis Sentinel', () => {
  const started: ServerProcess[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close().catch(() => {});
    for (const s of started.splice(0).reverse()) await s.stop();
  });

  /** Asks `sentinel` until `check` holds of what it says (sentinels learn of replicas and of each other every few seconds). */
  async function untilSentinel(sentinel: ServerProcess, what: string, check: (ask: Redis) => Promise<boolean>): Promise<void> {
    const ask = new Redis({ host: '127.0.0.1', port: sentinel.port });
    try {
      const deadline = Date.now() + 30_000;
      while (!(await check(ask))) {
        if (Date.now() > deadline) throw new Error(`the sentinel on ${sentinel.port} never said ${what}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      ask.disconnect();
    }
  }

  const fieldsOf = (fields: string[]) => Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])));
  /** Until the sentinel lists `replica` as in sync: before that it would have nothing to promote. */
  const knowsReplica = (sentinel: ServerProcess, replica: RedisServerProcess) =>
    untilSentinel(sentinel, 'the replica is in sync', async (ask) =>
      ((await ask.call('SENTINEL', 'REPLICAS', 'chat')) as string[][]).some((f) => {
        const r = fieldsOf(f);
        return r['port'] === String(replica.port) && r['flags'] === 'slave' && r['master-link-status'] === 'ok';
      }),
    );

  /**
   * A primary and a replica, presence users written through `url`'s
   * sentinels; then the primary dies (and `alsoKill`, a sentinel say). Resolves
   * once presence takes writes again, having checked nothing was lost and the
   * former replica serves.
   */
  async function failover(primary: RedisServerProcess, replica: RedisServerProcess, url: string, alsoKill: ServerProcess[] = []): Promise<number> {
    const backend = new RedisPresenceBackend({ url, ttlMs: 60_000 });
    closers.push(() => backend.close());
    await backend.ready(10_000);
    const direct = new Redis(primary.url);
    closers.push(async () => direct.disconnect());
    // An established deployment (its presence data began long ago): this test is about the failover, not a loss.
    await direct.set(`${DEFAULT_PRESENCE_KEY_PREFIX}since`, '0');
    for (let i = 0; i < 20; i++) await backend.sessionUp(`u${i}`, 's', 'gw1', T0);
    // The replica has every write before the primary dies (asynchronous replication otherwise).
    expect(await direct.wait(1, 5000)).toBe(1);
    direct.disconnect();

    const killedAt = Date.now();
    await Promise.all([primary, ...alsoKill].map((p) => p.kill('SIGKILL')));
    // Until the sentinels promote the replica, calls fail (unavailable); then everything works again.
    let backAt = 0;
    while (Date.now() - killedAt < 20_000) {
      const ok = await backend.sessionUp('late', 's', 'gw1', T0 + 1).then(
        () => true,
        () => false,
      );
      if (ok) {
        backAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(backAt, 'writes accepted again after the failover').toBeGreaterThan(0);
    const users = await backend.get(['u0', 'u19', 'late', 'nobody']);
    expect(users.map((u) => u.online)).toEqual([true, true, true, false]);

    // It is the former replica that serves now.
    const promoted = new Redis(replica.url);
    closers.push(async () => promoted.disconnect());
    expect(((await promoted.role()) as unknown[])[0]).toBe('master');
    promoted.disconnect();
    return backAt - killedAt;
  }

  it('follows a failover to the replica: presence kept, writes go on, in a few seconds', async () => {
    const primary: RedisServerProcess = await startRedisServer();
    started.push(primary);
    const replica = await startRedisServer({ replicaOf: primary.port });
    started.push(replica);
    const sentinel = await startRedisSentinel({ primaryPort: primary.port, name: 'chat', downAfterMs: 1000 });
    started.push(sentinel);
    await knowsReplica(sentinel, replica);
    const ms = await failover(primary, replica, `redis-sentinel://127.0.0.1:${sentinel.port}/chat`);
    console.log(`Redis Sentinel failover: presence writable again ${ms} ms after the primary was killed (down-after 1000 ms)`);
  }, 60_000);

  it('with three sentinels (quorum 2), follows a failover when the primary and the first sentinel it lists die together', async () => {
    const primary: RedisServerProcess = await startRedisServer();
    started.push(primary);
    const replica = await startRedisServer({ replicaOf: primary.port });
    started.push(replica);
    const sentinels: ServerProcess[] = [];
    for (let i = 0; i < 3; i++) sentinels.push(await startRedisSentinel({ primaryPort: primary.port, name: 'chat', downAfterMs: 1000, quorum: 2 }));
    started.push(...sentinels);
    // The two that survive must know the replica and each other (they meet through the primary's hello channel).
    for (const s of sentinels.slice(1)) {
      await knowsReplica(s, replica);
      await untilSentinel(s, 'it knows the other two sentinels', async (ask) => ((await ask.call('SENTINEL', 'SENTINELS', 'chat')) as string[][]).length === 2);
    }
    const url = `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/chat`;
    // Like a machine running the primary and a sentinel being lost: the client's first sentinel is gone too.
    const ms = await failover(primary, replica, url, [sentinels[0]!]);
    console.log(`Redis Sentinel failover with 3 sentinels, the first one lost too: presence writable again ${ms} ms after the primary was killed (down-after 1000 ms, quorum 2)`);
  }, 90_000);
});
