import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation } from '@chat/proto';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { GrpcChat, healthCheck } from '@chat/testkit/grpc-client';

const { start, login } = useCluster();

describe('cluster: the gRPC API on every gateway', () => {
  it('routes calls from either gateway through the same actors: WebSocket members on both see them, retries store once, WatchEvents resumes on the other gateway', async () => {
    const c = await start(2, 2, { env: { RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' } });
    const [gw1, gw2] = c.gateways;
    expect(gw1!.grpcPort).toBeDefined();
    expect(gw2!.grpcPort).not.toBe(gw1!.grpcPort);
    for (const gw of [gw1!, gw2!]) expect(await healthCheck(`127.0.0.1:${gw.grpcPort}`)).toBe('SERVING');

    const bot = await login(gw1!.url, 'cluster grpc bot');
    const bob = await login(gw1!.url, 'cluster grpc bob');
    const carol = await login(gw2!.url, 'cluster grpc carol');
    const api1 = new GrpcChat(`127.0.0.1:${gw1!.grpcPort}`, bot.token);
    const api2 = new GrpcChat(`127.0.0.1:${gw2!.grpcPort}`, bot.token);
    const carolApi = new GrpcChat(`127.0.0.1:${gw2!.grpcPort}`, carol.token);
    const carolApi1 = new GrpcChat(`127.0.0.1:${gw1!.grpcPort}`, carol.token);
    try {
      const { conversation } = await api2.call<{ conversation: Conversation }>('createGroup', { title: 'both gateways', memberIds: [bob.user.id, carol.user.id] });

      // Carol also watches over gRPC, on gateway 2.
      const watch = carolApi.watch();
      await watch.registered;

      // A send through gateway 1 reaches the WebSocket members on both gateways and the watcher.
      const first = await api1.call<{ message: ChatMessage; duplicate: boolean }>('sendMessage', { conversationId: conversation.id, clientMsgId: 'c-1', body: 'from gateway 1', attachments: [] });
      expect(first).toMatchObject({ duplicate: false, message: { seq: 1 } });
      for (const ws of [bob, carol]) {
        const e = await ws.waitForEvent((f) => f.ev === 'message.new' && (f.message as { conversationId: string }).conversationId === conversation.id);
        expect(e.message).toMatchObject({ seq: 1, body: 'from gateway 1', senderId: bot.user.id });
      }
      await watch.waitFor((e) => e.name === 'message.new' && e.seq === 1);

      // The same client_msg_id retried through the other gateway is the same message, stored once.
      const retry = await api2.call<{ message: ChatMessage; duplicate: boolean }>('sendMessage', { conversationId: conversation.id, clientMsgId: 'c-1', body: 'from gateway 1', attachments: [] });
      expect(retry).toMatchObject({ duplicate: true, message: { seq: 1, id: first.message.id } });

      // Carol's stream breaks; messages keep coming; she resumes on gateway 1 from her watermark.
      watch.cancel();
      const mark = Math.max(...watch.messages(conversation.id).map((m) => m.seq));
      await Promise.all(
        Array.from({ length: 15 }, (_, i) => api2.call('sendMessage', { conversationId: conversation.id, clientMsgId: `c-missed-${i}`, body: `missed ${i}`, attachments: [] })),
      );
      const resumed = carolApi1.watch({ since: { [conversation.id]: mark } });
      await resumed.registered;
      await Promise.all(
        Array.from({ length: 15 }, (_, i) => bob.call('message.send', { conversationId: conversation.id, clientMsgId: `c-live-${i}`, body: `live ${i}` })),
      );
      await resumed.waitFor((e) => e.name === 'message.new' && e.conversationId === conversation.id, 30, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(resumed.messages(conversation.id).map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => mark + 1 + i));
      resumed.cancel();

      const history = await api1.call<{ messages: ChatMessage[]; hasMore: boolean }>('history', { conversationId: conversation.id, limit: 200 });
      expect(history.messages.map((m) => m.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
      expect(history.messages.filter((m) => m.clientMsgId === 'c-1')).toHaveLength(1);
    } finally {
      api1.close();
      api2.close();
      carolApi.close();
      carolApi1.close();
    }
  });
});
