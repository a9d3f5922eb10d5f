import { describe, expect, it } from 'vitest';
import type { ConversationJson, OpResult } from '@chat/proto';
import type { ChatClient } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';

type Client = ChatClient & { user: { id: string } };
type SearchResult = OpResult<'message.search'>;

describe('standalone: message.search over real sockets (protocol extension)', () => {
  const { login } = useStandalone();

  async function group(owner: Client, others: Client[]): Promise<string> {
    const { conversation } = await owner.call<{ conversation: ConversationJson }>('conversation.create_group', {
      title: 'Search crew',
      members: others.map((o) => o.user.id),
    });
    return conversation.id;
  }
  const send = (c: Client, conversationId: string, clientMsgId: string, body: string) =>
    c.call<{ message: { seq: number } }>('message.send', { conversationId, clientMsgId, body });
  const search = (c: Client, args: Record<string, unknown>) => c.call<SearchResult>('message.search', args);
  const bodies = (r: SearchResult) => r.hits.map((h) => h.message.body);

  it('finds sent and edited text with highlighted snippets, never a deleted message, and nothing new after removal', async () => {
    const [ann, bob] = [await login('SAnn'), await login('SBob')];
    const id = await group(ann, [bob]);
    const first = await send(ann, id, 'k1', 'Zanzibar trip plans');
    await send(bob, id, 'k2', 'zanzibar flights are cheap');
    const own = await ann.call<{ conversation: ConversationJson }>('conversation.create_group', { title: 'Ann alone', members: [] });
    await send(ann, own.conversation.id, 'k3', 'my zanzibar notes');

    const found = await search(bob, { query: 'zanzi' });
    expect(bodies(found)).toEqual(['zanzibar flights are cheap', 'Zanzibar trip plans']);
    expect(found.next).toBeNull();
    const hit = found.hits[1]!;
    expect(hit.message).toMatchObject({ conversationId: id, seq: first.message.seq, senderId: ann.user.id });
    expect(hit.snippet).toBe('Zanzibar trip plans');
    expect(hit.highlights).toEqual([{ start: 0, end: 8 }]);
    expect(bodies(await search(ann, { query: 'zanzibar', conversationId: own.conversation.id }))).toEqual(['my zanzibar notes']);

    await ann.call('message.edit', { conversationId: id, seq: first.message.seq, body: 'Mombasa trip plans' });
    expect(bodies(await search(bob, { query: 'mombasa' }))).toEqual(['Mombasa trip plans']);
    expect(bodies(await search(bob, { query: 'zanzibar' }))).toEqual(['zanzibar flights are cheap']);
    await ann.call('message.delete', { conversationId: id, seq: first.message.seq });
    expect((await search(bob, { query: 'mombasa' })).hits).toEqual([]);

    await ann.call('conversation.remove_member', { conversationId: id, userId: bob.user.id });
    await send(ann, id, 'k4', 'zanzibar after bob left');
    expect((await search(bob, { query: 'zanzibar' })).hits).toEqual([]);
    expect(bodies(await search(ann, { query: 'zanzibar' }))).toEqual(['zanzibar after bob left', 'my zanzibar notes', 'zanzibar flights are cheap']);
  });

  it('pages with next, and refuses bad arguments with bad_request', async () => {
    const ann = await login('SPager');
    const { conversation } = await ann.call<{ conversation: ConversationJson }>('conversation.create_group', { title: 'Pages', members: [] });
    for (let i = 1; i <= 7; i++) await send(ann, conversation.id, `p${i}`, `quokka number ${i}`);
    const first = await search(ann, { query: 'quokka', limit: 5 });
    expect(bodies(first)).toEqual([7, 6, 5, 4, 3].map((i) => `quokka number ${i}`));
    expect(first.next).toEqual(expect.any(String));
    const second = await search(ann, { query: 'quokka', limit: 5, before: first.next });
    expect(bodies(second)).toEqual(['quokka number 2', 'quokka number 1']);
    expect(second.next).toBeNull();

    for (const args of [{}, { query: '   ' }, { query: '?!' }, { query: 'x', limit: 51 }, { query: 'x', before: 'bogus' }, { query: 'x'.repeat(257) }]) {
      const reply = await ann.request('message.search', args);
      expect(reply.ok, JSON.stringify(args)).toBe(false);
      expect(reply.error?.code).toBe('bad_request');
    }
  });
});
