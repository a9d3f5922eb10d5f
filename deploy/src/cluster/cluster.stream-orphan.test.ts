import { describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import type { EventFrame } from '@chat/testkit/chat-client';
import { LEASE_TTL_MS, useCluster } from '@chat/testkit/cluster-fixture';
import { scrapeMetric } from './local-cluster.js';

const IDLE_MS = 1000;
const isFinal = (conversationId: string) => (e: EventFrame) =>
  e.ev === 'message.updated' && (e.message as MessageJson).conversationId === conversationId && (e.message as MessageJson).streaming === false;

const { start, login } = useCluster();

describe('cluster: a stream left open by its producer and its actor host', () => {
  it('ends truncated on the host that takes the shard over, with nothing else waking its conversation', async () => {
    const c = await start(1, 2, { env: { STREAM_IDLE_MS: String(IDLE_MS) } });
    const url = c.gateways[0]!.url;
    const bot = await login(url, 'orphan bot');
    const fay = await login(url, 'orphan fay');
    // Enough conversations that some live on the host about to die.
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { conversation } = await bot.call<{ conversation: { id: string } }>('conversation.create_group', { title: `orphan ${i}`, members: [fay.user.id] });
      ids.push(conversation.id);
    }
    await fay.waitForEvents((e) => e.ev === 'conversation.updated' && ids.includes((e.conversation as { id: string }).id), ids.length, 10_000);
    for (const [i, id] of ids.entries()) {
      const { message } = await bot.call<{ message: MessageJson }>('message.send', { conversationId: id, clientMsgId: `o${i}`, body: 'half an ans', streaming: true });
      await bot.call('message.stream', { conversationId: id, seq: message.seq, offset: message.body.length, text: 'wer' });
    }
    // The producer goes away, and so does one actor host with its actors.
    await bot.close();
    const victim = c.actorHosts[1]!;
    expect(await scrapeMetric(victim.opsUrl, 'chat_actors_active'), 'the victim serves some of the streams').toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    await victim.exited;

    // Fay only listens: no request of hers wakes a conversation. Every stream ends, on either host.
    const finals = await fay.waitForEvents((e) => ids.some((id) => isFinal(id)(e)), ids.length, LEASE_TTL_MS * 2 + IDLE_MS + 10_000);
    for (const id of ids) {
      const final = finals.find(isFinal(id));
      expect(final?.message, id).toMatchObject({ streaming: false, truncated: true });
      // What the store held when the host died: the last append may not have been persisted yet (at most every 500 ms).
      expect(['half an ans', 'half an answer'], id).toContain((final!.message as MessageJson).body);
    }
  }, 90_000);
});
