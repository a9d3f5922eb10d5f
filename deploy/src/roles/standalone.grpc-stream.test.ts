import { type ServiceError, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation, MessageJson } from '@chat/proto';
import type { ChatClient, EventFrame } from '@chat/testkit/chat-client';
import { bearer, useGrpcClients } from '@chat/testkit/grpc-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Msg = MessageJson;

const isFinal = (seq: number) => (e: EventFrame) => e.ev === 'message.updated' && (e.message as Msg).seq === seq && (e.message as Msg).streaming === false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The body a WebSocket member rebuilds from message.new and the deltas, checking that they come in order without gaps. */
function rebuilt(client: ChatClient, conversationId: string, seq: number): string {
  const start = client.events.find((e) => e.ev === 'message.new' && (e.message as Msg).seq === seq && (e.message as Msg).conversationId === conversationId);
  let body = (start!.message as Msg).body;
  for (const d of client.events.filter((e) => e.ev === 'message.delta' && e.seq === seq && e.conversationId === conversationId)) {
    expect(d.offset as number).toBeLessThanOrEqual(body.length);
    body += (d.text as string).slice(body.length - (d.offset as number));
  }
  return body;
}

describe('standalone: StreamMessage over gRPC', () => {
  const { system, login } = useStandalone({ STREAM_IDLE_MS: '1500' });
  const grpc = useGrpcClients(() => system().grpcPort);

  async function group(owner: ChatClient & { token: string }, others: (ChatClient & { user: { id: string } })[]) {
    const { conversation } = await grpc(owner.token).call<{ conversation: Conversation }>('createGroup', { title: 'stream', memberIds: others.map((o) => o.user.id) });
    for (const o of others) await o.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as { id: string }).id === conversation.id);
    return conversation.id;
  }

  it('streams a reply into one message: members watch it grow in order, and the stored body is the concatenated deltas', async () => {
    const bot = await login('stream bot');
    const ann = await login('stream ann');
    const ben = await login('stream ben');
    const id = await group(bot, [ann, ben]);
    const stream = grpc(bot.token).stream(id, 'answer-1');
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    const writesFrom = Date.now();
    for (const w of words) {
      stream.delta(w);
      await sleep(5);
    }
    // It grows while being written: members see text before the stream is ended.
    for (const member of [ann, ben]) await member.waitForEvent((e) => e.ev === 'message.delta' && e.conversationId === id, 10_000);
    const writesTook = Date.now() - writesFrom;
    const final = await stream.end();
    expect(final).toMatchObject({ body: words.join(''), streaming: false, truncated: false, senderId: bot.user.id, clientMsgId: 'answer-1' });
    for (const member of [ann, ben]) {
      const [ev] = await member.waitForEvents(isFinal(final.seq), 1);
      expect((ev!.message as Msg).body).toBe(words.join(''));
      expect(rebuilt(member, id, final.seq)).toBe(words.join(''));
      const deltas = member.events.filter((e) => e.ev === 'message.delta' && e.seq === final.seq);
      // Coalesced: at most one frame per 50 ms (plus the final flush), not one per delta.
      expect(deltas.length).toBeLessThanOrEqual(Math.ceil(writesTook / 50) + 2);
    }
    const history = await grpc(ann.token).call<{ messages: ChatMessage[] }>('history', { conversationId: id });
    expect(history.messages.map((m) => [m.seq, m.body, m.streaming])).toEqual([[final.seq, words.join(''), false]]);
  });

  it('a producer that cancels or hangs up mid-stream leaves the message finished, truncated, with what arrived', async () => {
    const bot = await login('stream bot 2');
    const cy = await login('stream cy');
    const id = await group(bot, [cy]);
    const api = grpc(bot.token);

    const cancelled = api.stream(id, 'cut-1');
    cancelled.delta('half of ');
    cancelled.delta('an answer');
    const [started] = await cy.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).clientMsgId === 'cut-1', 1);
    const seq = (started!.message as Msg).seq;
    await cy.waitForEvents((e) => e.ev === 'message.delta' && e.seq === seq, 1).catch(() => undefined);
    await sleep(100);
    cancelled.cancel();
    const [finalCancelled] = await cy.waitForEvents(isFinal(seq), 1);
    expect(finalCancelled!.message).toMatchObject({ body: 'half of an answer', truncated: true });

    const hungUp = api.stream(id, 'cut-2');
    hungUp.delta('no end');
    await sleep(100);
    hungUp.hangUp();
    expect((await hungUp.result).error?.code).toBe(status.INVALID_ARGUMENT);
    const [finalHung] = await cy.waitForEvents((e) => e.ev === 'message.updated' && (e.message as Msg).clientMsgId === 'cut-2', 1);
    expect(finalHung!.message).toMatchObject({ body: 'no end', truncated: true, streaming: false });
  });

  it('refuses a non-member PERMISSION_DENIED, a stream without start INVALID_ARGUMENT, and no token UNAUTHENTICATED', async () => {
    const owner = await login('stream owner');
    const stranger = await login('stream stranger');
    const id = await group(owner, []);
    const denied = grpc(stranger.token).stream(id, 'x-1');
    denied.delta('hi');
    expect((await denied.result).error?.code).toBe(status.PERMISSION_DENIED);

    const api = grpc(owner.token);
    const noStart = await new Promise<ServiceError | null>((resolve) => {
      const call = api.client.streamMessage(bearer(owner.token), (err) => resolve(err));
      call.write({ kind: { $case: 'delta', value: { text: 'x' } } });
      call.end();
    });
    expect(noStart?.code).toBe(status.INVALID_ARGUMENT);
    const badOrder = api.stream(id, 'x-2');
    badOrder.call.write({ kind: { $case: 'start', value: { conversationId: id, clientMsgId: 'again' } } });
    expect((await badOrder.result).error?.code).toBe(status.INVALID_ARGUMENT);
    const noToken = grpc(owner.token).stream(id, 'x-3', null);
    expect((await noToken.result).error?.code).toBe(status.UNAUTHENTICATED);
  });
});
