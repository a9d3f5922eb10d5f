import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, restartNatsWithEmptyStore, startNatsServer } from '@chat/testkit/servers';
import { type NatsBus, connectNatsBus } from '../bus/nats-bus.js';
import { silentLogger } from '../logger.js';
import type { ChangeBatch, ChangeFollower, FeedLoss } from './change-feed.js';
import { NatsChangeFeed } from './nats-change-feed.js';
import { NatsChangeFollower, type NatsChangeFollowerOptions } from './nats-change-follower.js';

/** A stream of its own per test: its name and subjects. */
function streamSettings(extra: { maxBytes?: number } = {}) {
  const id = randomUUID().slice(0, 8);
  return { stream: `T_${id}`, subjectPrefix: `t.${id}`, ...extra };
}

/** Batches until `count` notices came (each passed to `settle`), or the deadline. */
async function collect(follower: ChangeFollower, count: number, settle: 'ack' | 'keep' = 'ack'): Promise<{ ids: string[]; losses: FeedLoss[] }> {
  const ids: string[] = [];
  const losses: FeedLoss[] = [];
  const deadline = Date.now() + 10_000;
  while (ids.length < count && Date.now() < deadline) {
    const batch: ChangeBatch = await follower.next();
    if (batch.loss) losses.push(batch.loss);
    for (const d of batch.notices) {
      ids.push(d.notice.conversationId);
      if (settle === 'ack') d.ack();
    }
  }
  return { ids, losses };
}

describe('NatsChangeFeed and NatsChangeFollower on a real nats-server', () => {
  let server: NatsServerProcess;
  let bus: NatsBus;
  const followers: ChangeFollower[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
    bus = await connectNatsBus({ servers: server.url, name: 'change-feed-test', logger: silentLogger() });
  });
  afterAll(async () => {
    await Promise.all(followers.map((f) => f.close()));
    await bus.close();
    await server.stop();
  });

  async function follow(settings: ReturnType<typeof streamSettings>, extra: NatsChangeFollowerOptions = {}): Promise<NatsChangeFollower> {
    const f = await NatsChangeFollower.open(bus.connection, { ...settings, fetchWaitMs: 200, checkMs: 200, ...extra });
    followers.push(f);
    return f;
  }

  it('delivers published notices; acknowledged ones never again, a retried one again, across a restart of the follower', async () => {
    const s = streamSettings();
    const feed = await NatsChangeFeed.open(bus.connection, { ...s, shards: 4 });
    const first = await follow(s, { ackWaitMs: 1000 });
    for (let i = 0; i < 10; i++) await feed.publish({ conversationId: `c${i}`, lastSeq: i + 1, changeSeq: 0 });

    const ids: string[] = [];
    let retried: string | undefined;
    const deadline = Date.now() + 10_000;
    while (ids.length < 10 && Date.now() < deadline) {
      for (const d of (await first.next()).notices) {
        ids.push(d.notice.conversationId);
        if (d.notice.conversationId === 'c3' && retried === undefined) {
          retried = 'c3';
          d.retry(100);
        } else d.ack();
      }
    }
    expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`).sort());
    // The retried notice comes back after its delay, marked as redelivered.
    const again = await first.next();
    expect(again.notices.map((d) => [d.notice.conversationId, d.redeliveries])).toEqual([['c3', 1]]);
    await first.close();

    // c3 was never acknowledged: a new follower of the same name gets it again (after the ack wait), and only it.
    const second = await follow(s, { ackWaitMs: 1000 });
    const { ids: redelivered } = await collect(second, 1);
    expect(redelivered).toEqual(['c3']);
    expect((await second.next()).notices).toEqual([]);
  });

  it('reports the creation of its position as a loss, across restarts, until reconciled', async () => {
    const s = streamSettings();
    const a = await follow(s);
    const { loss } = await a.next();
    expect(loss?.reason).toBe('position-created');
    await a.close();

    // Restarted before reconciling: still reported.
    const b = await follow(s);
    const pending = (await b.next()).loss;
    expect(pending?.reason).toBe('position-created');
    await b.reconciled(pending!);
    expect((await b.next()).loss).toBeUndefined();
    await b.close();

    const c = await follow(s, { ackWaitMs: 7000 });
    expect((await c.next()).loss).toBeUndefined();
    // A follower opened with another ack wait sets it on the consumer.
    const jsm = await bus.connection.jetstreamManager();
    expect((await jsm.consumers.info(s.stream, 'chat-indexer')).config.ack_wait).toBe(7000 * 1_000_000);
  });

  it('two followers of one name share the notices, each once, with no loss reported', async () => {
    const s = streamSettings();
    const feed = await NatsChangeFeed.open(bus.connection, { ...s, shards: 4 });
    const a = await follow(s);
    await a.reconciled((await a.next()).loss!);
    const b = await follow(s);
    for (let i = 0; i < 40; i++) await feed.publish({ conversationId: `s${i}`, lastSeq: 1, changeSeq: 0 });
    const [ra, rb] = await Promise.all([collect(a, 20), collect(b, 20)]);
    const ids = [...ra.ids, ...rb.ids];
    // Between them every notice, none twice (they ran until 20 each or the deadline).
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    expect([...ra.losses, ...rb.losses]).toEqual([]);
  });

  it('reports notices the stream dropped by its size limit before the follower acknowledged them', async () => {
    const s = streamSettings({ maxBytes: 4096 });
    const feed = await NatsChangeFeed.open(bus.connection, { ...s, shards: 4 });
    const a = await follow(s);
    const created = (await a.next()).loss!;
    await a.reconciled(created);
    await feed.publish({ conversationId: 'early', lastSeq: 1, changeSeq: 0 });
    expect((await collect(a, 1)).ids).toEqual(['early']);
    await a.close();

    // While nobody follows, far more than 4 KiB of notices: the oldest are dropped.
    for (let i = 0; i < 300; i++) await feed.publish({ conversationId: `conversation-${i}`, lastSeq: i + 1, changeSeq: 0 });
    const b = await follow(s);
    const { ids, losses } = await collect(b, 1);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain('conversation-0');
    expect(losses[0]?.reason).toBe('notices-discarded');
  });

  it('when NATS comes back without its JetStream store: publishing recreates the stream, and the follower reports the loss', async () => {
    const s = streamSettings();
    const feed = await NatsChangeFeed.open(bus.connection, { ...s, shards: 4 });
    const a = await follow(s);
    await a.reconciled((await a.next()).loss!);
    await feed.publish({ conversationId: 'before', lastSeq: 1, changeSeq: 0 });
    expect((await collect(a, 1)).ids).toEqual(['before']);

    await restartNatsWithEmptyStore(server);

    // The first publishes may fail while the bus reconnects; one then succeeds.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await feed.publish({ conversationId: 'after', lastSeq: 2, changeSeq: 0 });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let loss: FeedLoss | undefined;
    const ids: string[] = [];
    while ((!loss || !ids.includes('after')) && Date.now() < deadline) {
      try {
        const batch = await a.next();
        loss ??= batch.loss;
        for (const d of batch.notices) {
          ids.push(d.notice.conversationId);
          d.ack();
        }
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(loss?.reason).toBe('position-created');
    expect(ids).toContain('after');
  });
});
