import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, loadEnvConfig, silentLogger } from '@chat/platform';
import { BUS_PAIRS, type BusPair } from '@chat/testkit/bus-pairs';
import { shardOf } from '@chat/proto';
import type { Gateway } from '@chat/edge-gateway';
import { ChatClient } from '@chat/testkit/chat-client';
import { MovableOwnership } from '@chat/testkit/movable-ownership';
import { tempDir } from '@chat/testkit/system-under-test';
import { type ActorsRole, startActorsRole } from './actors-role.js';
import { startGatewayRole } from './gateway-role.js';
import { standaloneEnvSchema } from './standalone.js';

interface Msg {
  seq: number;
  clientMsgId: string;
}

describe.each(BUS_PAIRS)('a shard moving while sessions pipeline sends, over the %s', (_name, connect) => {
  const dir = tempDir();
  let buses: BusPair;
  let ownership: MovableOwnership;
  let actors: ActorsRole;
  let gateway: Gateway;
  let baseUrl: string;

  beforeAll(async () => {
    const config = loadEnvConfig(standaloneEnvSchema, {
      PORT: '0',
      GRPC_PORT: 'off',
      DATA_DIR: dir.path,
      JWT_SECRET: 'shard-move-test-secret-0123456789abcdef',
      RATE_LIMIT_PER_SEC: '100000',
      RATE_LIMIT_BURST: '100000',
      SHARDS: '8',
    });
    const registry = createMetricsRegistry('test');
    buses = await connect();
    actors = await startActorsRole({ bus: buses.actors, config, ownership: () => (ownership = new MovableOwnership(8)), registry, logger: silentLogger() });
    gateway = await startGatewayRole({ bus: buses.gateway, config, secret: config.JWT_SECRET!, registry, logger: silentLogger(), serveWeb: false });
    baseUrl = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(async () => {
    await gateway.stop();
    await actors.stop();
    await buses.close();
    dir.remove();
  });

  it('acknowledges every send, keeps each session’s order and leaves no gap, with only retries to show for it', async () => {
    const [a, b] = await Promise.all([ChatClient.login(baseUrl, 'Mover A'), ChatClient.login(baseUrl, 'Mover B')]);
    const { conversation } = await a.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'moving', members: ['mover-b'] });
    const shard = shardOf(conversation.id, 8);

    const sends = (c: ChatClient, tag: string) =>
      Array.from({ length: 150 }, (_, i) => c.request('message.send', { conversationId: conversation.id, clientMsgId: `${tag}${i}`, body: `${tag}${i}` }));
    const first = [...sends(a, 'a'), ...sends(b, 'b')];
    // Move the shard away and back three times while the sends are in flight.
    for (let i = 0; i < 3; i++) await ownership.move(shard, 30);
    const second = [...sends(a, 'c'), ...sends(b, 'd')];
    await ownership.move(shard, 50);
    const replies = await Promise.all([...first, ...second]);

    expect(replies.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
    const byTag = new Map<string, number[]>();
    for (const r of replies) {
      const m = r.message as Msg;
      const tag = m.clientMsgId[0]!;
      byTag.set(tag, [...(byTag.get(tag) ?? []), m.seq]);
    }
    // Per session, acks are in send order (a then c for A, b then d for B).
    const ordered = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);
    expect(ordered([...byTag.get('a')!, ...byTag.get('c')!])).toBe(true);
    expect(ordered([...byTag.get('b')!, ...byTag.get('d')!])).toBe(true);
    // Gapless and unique over everything acknowledged.
    const all = replies.map((r) => (r.message as Msg).seq).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    // And the receivers saw exactly that sequence.
    for (const c of [a, b]) {
      await c.waitForEvents((e) => e.ev === 'message.new', 600, 15_000);
      expect(c.messagesIn(conversation.id).map((m) => m.seq)).toEqual(all);
    }
    // The moves really hit requests in flight: some needed more than one attempt
    // (only a blocked lane's oldest request is retried; the rest wait their turn).
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    const attempts = Number(/^chat_bus_request_seconds_count\{target="actor"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(attempts).toBeGreaterThan(601 + 3);
    await Promise.all([a.close(), b.close()]);
  });
});
