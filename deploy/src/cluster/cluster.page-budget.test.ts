import { describe, expect, it } from 'vitest';
import { useCluster } from '@chat/testkit/cluster-fixture';

const { start, login } = useCluster();

/** A nats-server limit a page of long messages goes over (the roles' start-up checks still pass at the default frame size). */
const MAX_PAYLOAD = 256 * 1024;
const MESSAGES = 40;
/** 4,000 three-byte characters: 12 KB a message, so the 40 are ~480 KB, beyond the limit. */
const BODY = (i: number) => `${String(i).padStart(3, '0')} ${'€'.repeat(3995)}`;

type Page = { messages: { seq: number; body: string }[]; hasMore: boolean };

describe('cluster: history and conversation.list pages bigger than the bus carries', () => {
  it(`comes in pages that fit a ${MAX_PAYLOAD / 1024} KiB max_payload, each message once, in order, paging back to the first`, async () => {
    const c = await start(1, 1, { natsMaxPayload: MAX_PAYLOAD });
    const ann = await login(c.gateways[0]!.url, 'Page Ann');
    const bob = await login(c.gateways[0]!.url, 'Page Bob');
    const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
    for (let i = 1; i <= MESSAGES; i++) await ann.call('message.send', { conversationId: conversation.id, clientMsgId: `p${i}`, body: BODY(i) });

    // The newest page asked for all 40: it holds what fits, the newest ones, and says there is more.
    const first = await bob.call<Page>('message.history', { conversationId: conversation.id, limit: MESSAGES });
    expect(first.hasMore).toBe(true);
    expect(first.messages.length).toBeGreaterThan(1);
    expect(first.messages.length).toBeLessThan(MESSAGES);
    expect(first.messages.at(-1)!.seq).toBe(MESSAGES);
    // Paging back from the oldest one shown reaches the first message; every message comes once, in order.
    const seen = [...first.messages];
    let page = first;
    let pages = 1;
    while (page.hasMore) {
      page = await bob.call<Page>('message.history', { conversationId: conversation.id, before: seen[0]!.seq, limit: MESSAGES });
      seen.unshift(...page.messages);
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(4);
    expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    expect(seen.map((m) => m.body)).toEqual(Array.from({ length: MESSAGES }, (_, i) => BODY(i + 1)));
    // Forward from the start, the same: the first ones, then more.
    const forward = await bob.call<Page>('message.history', { conversationId: conversation.id, after: 0, limit: MESSAGES });
    expect(forward.hasMore).toBe(true);
    expect(forward.messages.map((m) => m.seq)).toEqual(Array.from({ length: forward.messages.length }, (_, i) => i + 1));

    // conversation.list the same: 24 DMs whose last messages are long make a list of ~300 KB.
    const peers = [];
    for (let i = 0; i < 24; i++) {
      const peer = await login(c.gateways[0]!.url, `Page Peer ${i}`);
      const { conversation: dm } = await peer.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
      await peer.call('message.send', { conversationId: dm.id, clientMsgId: 'long', body: BODY(i) });
      peers.push(dm.id);
    }
    const listed: string[] = [];
    let before: string | undefined;
    let listPages = 0;
    for (;;) {
      const list = await bob.call<{ conversations: { id: string }[]; next: string | null }>('conversation.list', { limit: 50, ...(before ? { before } : {}) });
      listed.push(...list.conversations.map((x) => x.id));
      listPages++;
      if (list.next === null) break;
      expect(list.conversations.length).toBeLessThan(25);
      before = list.next;
    }
    expect(listPages).toBeGreaterThanOrEqual(2);
    expect([...listed].sort()).toEqual([conversation.id, ...peers].sort());
  }, 120_000);
});
