import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ChatMessage, Conversation } from '@chat/proto';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { GrpcChat, healthCheck, reflectedServices, useGrpcClients, grpcFailure } from '@chat/testkit/grpc-client';
import { ChatClient } from '@chat/testkit/chat-client';
import { startInProcess, tempDir } from '@chat/testkit/system-under-test';

/** No rate limit in the way of the floods below. */
const UNLIMITED = { RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' };


/** `count` messages from `sender` (WebSocket) into a conversation, not waiting for each ack. */
function flood(sender: ChatClient, conversationId: string, tag: string, count: number, body = (i: number) => `${tag} ${i}`) {
  return Promise.all(Array.from({ length: count }, (_, i) => sender.call('message.send', { conversationId, clientMsgId: `${tag}-${i}`, body: body(i) })));
}

describe('standalone: the gRPC API', () => {
  const { system, login } = useStandalone(UNLIMITED);
  const grpc = useGrpcClients(() => system().grpcPort);

  it('answers health checks and lists its services by reflection', async () => {
    const address = `127.0.0.1:${system().grpcPort}`;
    expect(await healthCheck(address)).toBe('SERVING');
    expect(await healthCheck(address, 'chat.v1.ChatApi')).toBe('SERVING');
    expect(await reflectedServices(address)).toEqual(expect.arrayContaining(['chat.v1.ChatApi', 'grpc.health.v1.Health']));
  });

  it('refuses a call without a token, or with a wrong one, UNAUTHENTICATED', async () => {
    const alice = await login('grpc auth alice');
    const api = grpc(alice.token);
    const none = await grpcFailure(api.call('listConversations', {}, null));
    expect(none).toMatchObject({ code: status.UNAUTHENTICATED, chatCode: 'unauthorized' });
    const wrong = await grpcFailure(api.call('listConversations', {}, `${alice.token.slice(0, -4)}AAAA`));
    expect(wrong.code).toBe(status.UNAUTHENTICATED);
    expect((await grpcFailure(api.call('listConversations', {}, 'not-a-jwt'))).code).toBe(status.UNAUTHENTICATED);
    const watch = api.watch({}, null);
    expect((await watch.ended).code).toBe(status.UNAUTHENTICATED);
    // The same token, well formed, is accepted.
    await expect(api.call('listConversations', {})).resolves.toMatchObject({ conversations: [] });
  });

  it('serves every unary RPC through the actors, seen by WebSocket members', async () => {
    const alice = await login('grpc alice');
    const bob = await login('grpc bob');
    const carol = await login('grpc carol');
    const api = grpc(alice.token);

    const { conversation: group } = await api.call<{ conversation: Conversation }>('createGroup', { title: 'over gRPC', memberIds: [bob.user.id] });
    expect(group.kind).toBe('group');
    expect(group.members.map((m) => m.userId).sort()).toEqual([alice.user.id, bob.user.id].sort());

    const sent = await api.call<{ message: ChatMessage; duplicate: boolean }>('sendMessage', { conversationId: group.id, clientMsgId: 'g-1', body: 'hello from gRPC', attachments: [] });
    expect(sent).toMatchObject({ duplicate: false, message: { seq: 1, body: 'hello from gRPC', senderId: alice.user.id } });
    const seen = await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { conversationId: string }).conversationId === group.id);
    expect(seen.message).toMatchObject({ seq: 1, body: 'hello from gRPC', clientMsgId: 'g-1' });

    const edited = await api.call<{ message: ChatMessage }>('editMessage', { conversationId: group.id, seq: 1, body: 'edited' });
    expect(edited.message).toMatchObject({ body: 'edited' });
    expect(edited.message.editedAt).toBeGreaterThan(0);
    const reacted = await api.call<{ message: ChatMessage }>('react', { conversationId: group.id, seq: 1, emoji: '👍', add: true });
    expect(reacted.message.reactions).toEqual({ '👍': { ids: [alice.user.id] } });
    const marks = await api.call('markRead', { conversationId: group.id, readSeq: 1 });
    expect(marks).toEqual({ deliveredSeq: 1, readSeq: 1 });

    const added = await api.call<{ conversation: Conversation }>('addMembers', { conversationId: group.id, userIds: [carol.user.id] });
    expect(added.conversation.members.map((m) => m.userId)).toContain(carol.user.id);
    await expect(api.call('removeMember', { conversationId: group.id, userId: carol.user.id })).resolves.toEqual({});
    const got = await api.call<{ conversation: Conversation }>('getConversation', { conversationId: group.id });
    expect(got.conversation.members.map((m) => m.userId)).not.toContain(carol.user.id);
    expect(got.conversation).toMatchObject({ id: group.id, title: 'over gRPC', lastSeq: 1, readSeq: 1 });

    const { conversation: dm } = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    expect(dm.kind).toBe('dm');
    const again = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    expect(again.conversation.id).toBe(dm.id);

    await api.call('sendMessage', { conversationId: group.id, clientMsgId: 'g-2', body: 'second', attachments: [] });
    const deleted = await api.call<{ message: ChatMessage }>('deleteMessage', { conversationId: group.id, seq: 2 });
    expect(deleted.message).toMatchObject({ seq: 2, deleted: true, body: '' });

    const history = await api.call<{ messages: ChatMessage[]; hasMore: boolean }>('history', { conversationId: group.id });
    expect(history.hasMore).toBe(false);
    expect(history.messages.map((m) => [m.seq, m.body, m.deleted])).toEqual([
      [1, 'edited', false],
      [2, '', true],
    ]);
    const page = await api.call<{ messages: ChatMessage[]; hasMore: boolean }>('history', { conversationId: group.id, limit: 1 });
    expect(page).toMatchObject({ hasMore: true, messages: [{ seq: 2 }] });

    // Search (protocol extension): the edited text is found, highlighted; the deleted message is not.
    type Hit = { message: ChatMessage; snippet: string; highlights: { start: number; end: number }[] };
    const found = await api.call<{ hits: Hit[]; next?: string }>('search', { query: 'edit' });
    expect(found.hits.map((h) => [h.message.seq, h.snippet, h.highlights])).toEqual([[1, 'edited', [{ start: 0, end: 6 }]]]);
    expect(found.next).toBeUndefined();
    expect((await api.call<{ hits: Hit[] }>('search', { query: 'second' })).hits).toEqual([]);
    // Not a member (carol was removed): her search of the group finds nothing, and is not refused.
    expect((await grpc(carol.token).call<{ hits: Hit[] }>('search', { query: 'edit', conversationId: group.id })).hits).toEqual([]);
    expect(await grpcFailure(api.call('search', { query: '?!' }))).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });

    const list = await api.call<{ conversations: Conversation[]; next?: string }>('listConversations', { limit: 1 });
    expect(list.conversations).toHaveLength(1);
    expect(list.next).toBeDefined();
    const rest = await api.call<{ conversations: Conversation[]; next?: string }>('listConversations', { before: list.next });
    expect([...list.conversations, ...rest.conversations].map((c) => c.id).sort()).toEqual([group.id, dm.id].sort());
  });

  it('stores a SendMessage retried with the same client_msg_id once', async () => {
    const alice = await login('grpc idem alice');
    const bob = await login('grpc idem bob');
    const api = grpc(alice.token);
    const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    const request = { conversationId: conversation.id, clientMsgId: 'retry-me', body: 'once', attachments: [] };
    const replies = await Promise.all([api.call('sendMessage', request), api.call('sendMessage', request)]);
    const third = await api.call<{ message: ChatMessage; duplicate: boolean }>('sendMessage', request);
    expect(third.duplicate).toBe(true);
    expect(replies.map((r) => (r as { duplicate: boolean }).duplicate).sort()).toEqual([false, true]);
    expect(new Set([...replies, third].map((r) => (r as { message: ChatMessage }).message.seq))).toEqual(new Set([1]));
    const history = await api.call<{ messages: ChatMessage[] }>('history', { conversationId: conversation.id });
    expect(history.messages.map((m) => m.clientMsgId)).toEqual(['retry-me']);
  });

  it('refuses a non-member PERMISSION_DENIED and bad arguments INVALID_ARGUMENT', async () => {
    const alice = await login('grpc perm alice');
    const bob = await login('grpc perm bob');
    const mallory = await login('grpc perm mallory');
    const { conversation } = await grpc(alice.token).call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
    const outsider = grpc(mallory.token);
    expect(await grpcFailure(outsider.call('getConversation', { conversationId: conversation.id }))).toMatchObject({ code: status.PERMISSION_DENIED, chatCode: 'forbidden' });
    expect((await grpcFailure(outsider.call('sendMessage', { conversationId: conversation.id, clientMsgId: 'x', body: 'let me in', attachments: [] }))).code).toBe(
      status.PERMISSION_DENIED,
    );
    expect((await grpcFailure(outsider.call('history', { conversationId: conversation.id }))).code).toBe(status.PERMISSION_DENIED);
    const bad = await grpcFailure(grpc(alice.token).call('sendMessage', { conversationId: conversation.id, clientMsgId: '', body: '', attachments: [] }));
    expect(bad).toMatchObject({ code: status.INVALID_ARGUMENT, chatCode: 'bad_request' });
    expect(bad.details).toMatch(/clientMsgId/);
    expect((await grpcFailure(grpc(alice.token).call('editMessage', { conversationId: conversation.id, seq: 0, body: 'x' }))).code).toBe(status.INVALID_ARGUMENT);
  });

  describe('WatchEvents', () => {
    it('streams the events of every conversation of the caller, as the WebSocket frames', async () => {
      const alice = await login('watch live alice');
      const bob = await login('watch live bob');
      const watch = grpc(alice.token).watch();
      await watch.registered;
      const { conversation } = await bob.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'watched', members: [alice.user.id] });
      const [updated] = await watch.waitFor((e) => e.name === 'conversation.updated');
      expect(JSON.parse(updated!.json)).toMatchObject({ ev: 'conversation.updated', conversation: { id: conversation.id, title: 'watched' } });
      await bob.call('message.send', { conversationId: conversation.id, clientMsgId: 'w-1', body: 'to the watcher' });
      const [event] = await watch.waitFor((e) => e.name === 'message.new');
      expect(event).toMatchObject({ conversationId: conversation.id, seq: 1 });
      expect(JSON.parse(event!.json)).toMatchObject({ ev: 'message.new', message: { body: 'to the watcher', senderId: bob.user.id } });
      await bob.call('message.react', { conversationId: conversation.id, seq: 1, emoji: '🎉', add: true });
      const [reaction] = await watch.waitFor((e) => e.name === 'message.updated');
      expect(reaction).toMatchObject({ conversationId: conversation.id, seq: 1 });
      watch.cancel();
      expect((await watch.ended).code).toBe(status.CANCELLED);
    });

    it('resumes after a disconnect from its watermarks with nothing missing or doubled, while messages keep coming', async () => {
      const alice = await login('watch resume alice');
      const bob = await login('watch resume bob');
      const { conversation } = await bob.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'resumed', members: [alice.user.id] });
      const first = grpc(alice.token).watch();
      await first.registered;
      await flood(bob, conversation.id, 'before', 3);
      await first.waitFor((e) => e.name === 'message.new', 3);
      first.cancel();
      const mark = Math.max(...first.messages(conversation.id).map((m) => m.seq));
      expect(mark).toBe(3);

      // More than one sync page missed, so the replay reads history pages while bob keeps sending: messages sent
      // meanwhile arrive live (held until the replay is done) and in the later pages; each must come out once.
      await flood(bob, conversation.id, 'missed', 250);
      const resumed = grpc(alice.token).watch({ since: { [conversation.id]: mark } });
      await resumed.registered;
      await flood(bob, conversation.id, 'during', 60);
      await resumed.waitFor((e) => e.name === 'message.new' && e.conversationId === conversation.id, 310, 15_000);
      await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive by now
      expect(resumed.messages(conversation.id).map((m) => m.seq)).toEqual(Array.from({ length: 310 }, (_, i) => mark + 1 + i));
      resumed.cancel();
    });

    it('replays a conversation that missed more than one sync page in full, in order', async () => {
      const alice = await login('watch long alice');
      const bob = await login('watch long bob');
      const { conversation } = await bob.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'long', members: [alice.user.id] });
      await flood(bob, conversation.id, 'long', 260);
      const watch = grpc(alice.token).watch({ since: { [conversation.id]: 0 } });
      await watch.waitFor((e) => e.name === 'message.new', 260, 15_000);
      await new Promise((r) => setTimeout(r, 100));
      expect(watch.messages(conversation.id).map((m) => m.seq)).toEqual(Array.from({ length: 260 }, (_, i) => i + 1));
      expect(watch.events[0]).toMatchObject({ name: 'conversation.updated' });
      watch.cancel();
    });
  });
});

describe('standalone: WatchEvents flow control', () => {
  const { system, login } = useStandalone({ ...UNLIMITED, GRPC_WATCH_BUFFER_EVENTS: '50' });
  const grpc = useGrpcClients(() => system().grpcPort);

  it('closes a consumer that does not keep up with RESOURCE_EXHAUSTED instead of buffering', async () => {
    const alice = await login('watch slow alice');
    const bob = await login('watch slow bob');
    const { conversation } = await bob.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'slow', members: [alice.user.id] });
    const watch = grpc(alice.token).watch();
    await watch.registered;
    watch.stream.pause();
    // 4,000-character bodies: the HTTP/2 window fills after a few dozen events, then the server's queue (limit 50 here) does.
    await flood(bob, conversation.id, 'slow', 300, (i) => `${i} ${'x'.repeat(3990)}`);
    watch.stream.resume();
    const ended = await watch.ended;
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(ended.details).toMatch(/slow consumer/);
    expect(watch.messages(conversation.id).length).toBeLessThan(300);
  });
});

describe('standalone: the gRPC API on shutdown', () => {
  it('ends WatchEvents UNAVAILABLE so the client resumes elsewhere, then refuses calls', async () => {
    const dir = tempDir();
    const sys = await startInProcess({ dataDir: dir.path });
    const alice = await ChatClient.login(sys.baseUrl, 'shutdown alice');
    const bob = await ChatClient.login(sys.baseUrl, 'shutdown bob');
    const api = new GrpcChat(`127.0.0.1:${sys.grpcPort}`, alice.token);
    try {
      const { conversation } = await api.call<{ conversation: Conversation }>('openDm', { userId: bob.user.id });
      const watch = api.watch();
      await watch.registered;
      await api.call('sendMessage', { conversationId: conversation.id, clientMsgId: 'last', body: 'just before the end', attachments: [] });
      await watch.waitFor((e) => e.name === 'message.new');
      const stopped = sys.stop();
      const ended = await watch.ended;
      expect(ended.code).toBe(status.UNAVAILABLE);
      expect(ended.details).toMatch(/resume WatchEvents/);
      await stopped;
      await expect(api.call('listConversations', {}, undefined, 2000)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      api.close();
      await Promise.all([alice.close(), bob.close()]).catch(() => {});
      await sys.stop();
      dir.remove();
    }
  });
});
