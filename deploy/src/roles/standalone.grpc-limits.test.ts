import { type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { Conversation, MessageJson } from '@chat/proto';
import { useGrpcClients } from '@chat/testkit/grpc-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

describe('standalone: gRPC calls share their user\u2019s rate budget', () => {
  // 5 requests a second, 10 at once: small enough to exhaust in a test.
  const { system, login } = useStandalone({ RATE_LIMIT_PER_SEC: '5', RATE_LIMIT_BURST: '10' });
  const grpc = useGrpcClients(() => system().grpcPort);

  it('refuses calls over the budget RESOURCE_EXHAUSTED with retry-after-ms, and the WebSocket sessions of the same user pay from the same bucket', async () => {
    const ann = await login('limits ann');
    const bob = await login('limits bob');
    const api = grpc(ann.token);
    // Refills count from before openDm: its charge leaves 9 tokens, and the bucket refills from then on.
    const from = Date.now();
    const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    const results = await Promise.allSettled(
      Array.from({ length: 15 }, (_, i) => api.call('sendMessage', { conversationId: conversation.id, clientMsgId: `l-${i}`, body: `m ${i}`, attachments: [] })),
    );
    const refills = Math.floor(((Date.now() - from) / 1000) * 5);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as ServiceError);
    // 10 of burst, one of them spent on openDm: 9 pass, plus what refilled meanwhile; the rest are refused.
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    expect(passed).toBeGreaterThanOrEqual(9);
    expect(passed).toBeLessThanOrEqual(9 + refills);
    expect(refused.length).toBe(15 - passed);
    expect(refused.length).toBeGreaterThan(0);
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
    const from = Date.now();
    for (let i = 0; i < 60; i++) {
      const text = `d${i} `;
      stream.delta(text);
      sent += text;
      await new Promise((r) => setTimeout(r, 10));
    }
    const final = await stream.end();
    const took = (Date.now() - from) / 1000;
    expect(final.body).toBe(sent);
    const [updated] = await dee.waitForEvents((e) => e.ev === 'message.updated' && (e.message as MessageJson).clientMsgId === 'slow-1', 1, 10_000);
    expect((updated!.message as MessageJson).body).toBe(sent);
    // On a budget of 10 + 5/s the actor got at most that many calls, however long it took: fewer frames than the 60 deltas.
    const deltas = dee.events.filter((e) => e.ev === 'message.delta' && (e.seq as number) === final.seq);
    expect(deltas.length).toBeLessThanOrEqual(Math.min(59, 10 + Math.ceil(took * 5)));
  });
});

describe('standalone: a gRPC request is bounded by MAX_FRAME_BYTES, like a WebSocket frame', () => {
  const { system, login } = useStandalone({ MAX_FRAME_BYTES: '4096' });
  const grpc = useGrpcClients(() => system().grpcPort);

  it('refuses a request message over MAX_FRAME_BYTES RESOURCE_EXHAUSTED before it runs, and serves one under it', async () => {
    const eve = await login('frame eve');
    const api = grpc(eve.token);
    // 100 ids of 60 characters: about 6.3 KB on the wire, over the 4,096 bytes a WebSocket frame may hold here.
    const ids = Array.from({ length: 100 }, (_, i) => `x${i}`.padEnd(60, 'y'));
    const err = await api.call('createGroup', { title: 'too big', memberIds: ids }).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err?.details).toMatch(/^Received message larger than max \(\d+ vs 4096\)$/);
    const { conversation } = await api.call<{ conversation: Conversation }>('createGroup', { title: 'fits', memberIds: [] });
    expect(conversation.title).toBe('fits');
  });
});
