import { type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import type { Conversation, MessageJson } from '@chat/proto';
import { GrpcChat } from '@chat/testkit/grpc-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

describe('standalone: gRPC calls share their user\u2019s rate budget', () => {
  // 5 requests a second, 10 at once: small enough to exhaust in a test.
  const { system, login } = useStandalone({ RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '10' });
  const clients: GrpcChat[] = [];
  afterAll(() => clients.forEach((c) => c.close()));
  const grpc = (token: string) => {
    const c = new GrpcChat(`127.0.0.1:${system().grpcPort}`, token);
    clients.push(c);
    return c;
  };

  it('refuses calls over the budget RESOURCE_EXHAUSTED with retry-after-ms, and the WebSocket sessions of the same user pay from the same bucket', async () => {
    const ann = await login('limits ann');
    const bob = await login('limits bob');
    const api = grpc(ann.token);
    const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => api.call('sendMessage', { conversationId: conversation.id, clientMsgId: `l-${i}`, body: `m ${i}`, attachments: [] })),
    );
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ServiceError);
    // 10 of burst, one of them spent on openDm: 9 pass, 6 are refused.
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
    expect(refused).toHaveLength(6);
    for (const err of refused) {
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(Number(err.metadata.get('retry-after-ms')[0])).toBeGreaterThan(0);
    }
    // Ann's WebSocket session finds the bucket her gRPC calls drained.
    const ws = await ann.request('message.send', { conversationId: conversation.id, clientMsgId: 'ws-1', body: 'over ws' });
    expect(ws).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // Bob's budget is his own.
    await expect(grpc(bob.token).call('history', { conversationId: conversation.id })).resolves.toBeDefined();
  });

  it('a StreamMessage over the budget is slowed, not refused: its deltas go together, and the whole body arrives', async () => {
    const cy = await login('limits cy');
    const dee = await login('limits dee');
    const api = grpc(cy.token);
    const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: dee.user.id });
    const stream = api.stream(conversation.id, 'slow-1');
    let sent = '';
    for (let i = 0; i < 60; i++) {
      const text = `d${i} `;
      stream.delta(text);
      sent += text;
      await new Promise((r) => setTimeout(r, 10));
    }
    const final = await stream.end();
    expect(final.body).toBe(sent);
    const [updated] = await dee.waitForEvents((e) => e.ev === 'message.updated' && (e.message as MessageJson).clientMsgId === 'slow-1', 1, 10_000);
    expect((updated!.message as MessageJson).body).toBe(sent);
    // 60 deltas in ~0.7 s on a budget of 10 + 5/s: far fewer calls than deltas reached the actor.
    const deltas = dee.events.filter((e) => e.ev === 'message.delta' && (e.seq as number) === final.seq);
    expect(deltas.length).toBeLessThan(20);
  });
});
