import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation, MessageJson } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { useGrpcClients } from '@chat/testkit/grpc-client';

// Replies, threads and mentions end to end (docs/protocol.md, "Replies,
// threads and mentions"): over WebSocket and gRPC through a real standalone
// server, and an ordinary message still exactly what an old client knows.

describe('standalone: replies, threads and mentions over WebSocket and gRPC', () => {
  const { system, login } = useStandalone();
  const grpc = useGrpcClients(() => system().grpcPort);

  it('carries replyTo, threadRoot and mentions both ways; message.thread pages; mention counts follow read marks', async () => {
    const alice = await login('ext alice');
    const bob = await login('ext bob');
    const { conversation } = await alice.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'ext', members: [bob.user.id] });
    const id = conversation.id;
    const send = (who: typeof alice, clientMsgId: string, body: string, extra: object = {}) =>
      who.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId, body, ...extra });

    const { message: plain } = await send(alice, 'a1', 'plain question');
    // An ordinary message has none of the added fields: what an old client always got.
    for (const field of ['replyTo', 'threadRoot', 'threadReplies', 'threadLastAt', 'mentions']) expect(plain).not.toHaveProperty(field);

    // gRPC: a reply that mentions alice, and a thread reply.
    const api = grpc(bob.token);
    const reply = await api.call<{ message: ChatMessage }>('sendMessage', {
      conversationId: id, clientMsgId: 'b1', body: 'an answer', attachments: [], replyTo: 1, mentions: { ids: [alice.user.id] },
    });
    expect(reply.message).toMatchObject({ seq: 2, replyTo: { seq: 1, senderId: alice.user.id, text: 'plain question', deleted: false }, mentions: { ids: [alice.user.id] } });
    const inThread = await api.call<{ message: ChatMessage }>('sendMessage', { conversationId: id, clientMsgId: 'b2', body: 'thread 1', attachments: [], threadRoot: 1 });
    expect(inThread.message).toMatchObject({ seq: 3, threadRoot: 1 });
    const update = await alice.waitForEvent((e) => e.ev === 'thread.updated');
    expect(update).toMatchObject({ conversationId: id, root: 1, threadReplies: 1 });

    // WebSocket: the reply as alice reads it, then after the original is edited.
    await alice.call('message.edit', { conversationId: id, seq: 1, body: 'edited question' });
    const history = await alice.call<{ messages: MessageJson[] }>('message.history', { conversationId: id, limit: 10 });
    expect(history.messages[1]).toMatchObject({ replyTo: { seq: 1, text: 'edited question' }, mentions: [alice.user.id] });
    expect(history.messages[0]).toMatchObject({ threadReplies: 1 });
    const thread = await alice.call<{ root: MessageJson; messages: MessageJson[]; hasMore: boolean }>('message.thread', { conversationId: id, root: 1, limit: 10 });
    expect(thread).toMatchObject({ root: { seq: 1, threadReplies: 1 }, messages: [{ seq: 3, body: 'thread 1' }], hasMore: false });

    // Mentions: alice has one unread mention in conversation.list (and over gRPC) until she reads past it.
    const listed = async () => (await alice.call<{ conversations: { id: string; mentions?: number; unread: number }[] }>('conversation.list', {})).conversations.find((c) => c.id === id);
    expect(await listed()).toMatchObject({ unread: 2, mentions: 1 });
    const overGrpc = await grpc(alice.token).call<{ conversation: Conversation }>('getConversation', { conversationId: id });
    expect(overGrpc.conversation.mentions).toBe(1);
    await alice.call('receipt.mark', { conversationId: id, readSeq: 2 });
    expect(await listed()).toMatchObject({ unread: 1 });
    expect((await listed())?.mentions).toBeUndefined();

    // Refusals: a reply to nothing, a nested thread, a non-member mention.
    await expect(send(bob, 'x1', 'no', { replyTo: 99 })).rejects.toThrow(/: not_found: /);
    await expect(send(bob, 'x2', 'no', { threadRoot: 3 })).rejects.toThrow(/: bad_request: /);
    await expect(send(bob, 'x3', 'no', { mentions: ['nobody'] })).rejects.toThrow(/: bad_request: /);
  });
});
