import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation, MessageJson } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { useGrpcClients, grpcFailure } from '@chat/testkit/grpc-client';

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

  it('Thread over gRPC: a thread made over gRPC pages both ways, in the conversation\'s gapless order; non-members and missing roots refused', async () => {
    const alice = await login('grpc thread alice');
    const bob = await login('grpc thread bob');
    const carol = await login('grpc thread carol');
    const api = grpc(bob.token);
    const { conversation } = await api.call<{ conversation: Conversation }>('createGroup', { title: 'grpc thread', memberIds: [alice.user.id] });
    const id = conversation.id;
    const send = (clientMsgId: string, body: string, threadRoot?: number) =>
      api.call<{ message: ChatMessage }>('sendMessage', { conversationId: id, clientMsgId, body, attachments: [], threadRoot });

    // Seq 1 roots the thread; its 7 replies are interleaved with ordinary messages (and one from alice over WebSocket).
    await send('root', 'the root');
    const replies: ChatMessage[] = [];
    for (let i = 1; i <= 7; i++) {
      replies.push((await send(`r${i}`, `reply ${i}`, 1)).message);
      if (i % 2 === 0) await send(`m${i}`, `between ${i}`);
    }
    const { message: fromAlice } = await alice.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId: 'a-r8', body: 'reply 8', threadRoot: 1 });
    const threadSeqs = [...replies.map((m) => m.seq), fromAlice.seq];
    // The replies are messages of the conversation: its history is gapless, 1..lastSeq.
    const history = await api.call<{ messages: ChatMessage[] }>('history', { conversationId: id, limit: 50 });
    expect(history.messages.map((m) => m.seq)).toEqual(Array.from({ length: fromAlice.seq }, (_, i) => i + 1));
    expect(history.messages.filter((m) => m.threadRoot === 1).map((m) => m.seq)).toEqual(threadSeqs);

    type Page = { root: ChatMessage; messages: ChatMessage[]; hasMore: boolean };
    // Backward from the newest, 3 at a time, then on from `before`.
    const pagesBack: number[][] = [];
    let page = await api.call<Page>('thread', { conversationId: id, root: 1, limit: 3 });
    expect(page.root).toMatchObject({ seq: 1, body: 'the root', threadReplies: 8, threadLastAt: fromAlice.createdAt });
    for (;;) {
      pagesBack.push(page.messages.map((m) => m.seq));
      if (!page.hasMore) break;
      page = await api.call<Page>('thread', { conversationId: id, root: 1, before: page.messages[0]!.seq, limit: 3 });
    }
    expect(pagesBack).toEqual([threadSeqs.slice(5), threadSeqs.slice(2, 5), threadSeqs.slice(0, 2)]);
    // Forward from the root (after = 1), then on from `after`, as alice reads it.
    const pagesForward: number[][] = [];
    page = await grpc(alice.token).call<Page>('thread', { conversationId: id, root: 1, after: 1, limit: 3 });
    for (;;) {
      pagesForward.push(page.messages.map((m) => m.seq));
      if (!page.hasMore) break;
      page = await grpc(alice.token).call<Page>('thread', { conversationId: id, root: 1, after: page.messages.at(-1)!.seq, limit: 3 });
    }
    expect(pagesForward).toEqual([threadSeqs.slice(0, 3), threadSeqs.slice(3, 6), threadSeqs.slice(6)]);
    expect(page.messages.at(-1)).toMatchObject({ body: 'reply 8', senderId: alice.user.id, threadRoot: 1 });
    // What the WebSocket op answers, field for field.
    const overWs = await alice.call<{ root: MessageJson; messages: MessageJson[]; hasMore: boolean }>('message.thread', { conversationId: id, root: 1, after: 1, limit: 3 });
    expect(overWs.messages.map((m) => [m.seq, m.body])).toEqual(pagesForward[0]!.map((seq) => [seq, history.messages[seq - 1]!.body]));

    // A message no one replied to is a thread with no replies.
    expect(await api.call<Page>('thread', { conversationId: id, root: 4 })).toMatchObject({ root: { seq: 4, body: 'between 2' }, messages: [], hasMore: false });
    // Refusals, with the WebSocket op's codes: a non-member, a missing root, arguments outside the op's schema.
    expect(await grpcFailure(grpc(carol.token).call('thread', { conversationId: id, root: 1 }))).toMatchObject({ code: status.PERMISSION_DENIED, chatCode: 'forbidden' });
    expect(await grpcFailure(api.call('thread', { conversationId: id, root: 999 }))).toMatchObject({ code: status.NOT_FOUND, chatCode: 'not_found' });
    // root 0 is what a client that leaves the field unset sends.
    expect(await grpcFailure(api.call('thread', { conversationId: id, root: 0 }))).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });
    expect(await grpcFailure(api.call('thread', { conversationId: id, root: 1, limit: 201 }))).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });
  });
});
