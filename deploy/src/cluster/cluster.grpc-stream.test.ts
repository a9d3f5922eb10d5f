import { describe, expect, it } from 'vitest';
import type { Conversation, MessageJson } from '@chat/proto';
import type { EventFrame } from '@chat/testkit/chat-client';
import { LEASE_TTL_MS, useCluster } from '@chat/testkit/cluster-fixture';
import { GrpcChat } from '@chat/testkit/grpc-client';

type Msg = MessageJson;
const { start, login } = useCluster();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster: StreamMessage across gateways and an actor host failover', () => {
  it('bots stream replies through gateway 1; members on both gateways see each grow in order; SIGKILL of an actor host mid-stream loses and doubles nothing', async () => {
    const c = await start(2, 2, { env: { RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000' } });
    const [gw1, gw2] = c.gateways;
    const bot = await login(gw1!.url, 'cluster stream bot');
    const near = await login(gw1!.url, 'cluster stream near');
    const far = await login(gw2!.url, 'cluster stream far');
    const api = new GrpcChat(`127.0.0.1:${gw1!.grpcPort}`, bot.token);
    try {
      // Enough conversations that some live on the host about to die (2 hosts: each misses it with probability 1/2).
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const { conversation } = await api.call<{ conversation: Conversation }>('createGroup', { title: `stream ${i}`, memberIds: [near.user.id, far.user.id] });
        ids.push(conversation.id);
      }
      for (const member of [near, far]) {
        await member.waitForEvents((e) => e.ev === 'conversation.updated' && ids.includes((e.conversation as { id: string }).id), ids.length, 10_000);
      }
      const streams = ids.map((id) => ({ id, tap: api.stream(id, `reply-${id}`), sent: '' }));
      const write = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          for (const s of streams) {
            const text = `t${i} `;
            s.tap.delta(text);
            s.sent += text;
          }
          await sleep(50);
        }
      };
      await write(0, 30);
      const victim = c.actorHosts[1]!;
      // The victim holds some of the streaming conversations' actors (else this test would prove nothing).
      const metrics = await (await fetch(`${victim.opsUrl}/metrics`)).text();
      expect(Number(/^chat_actors_active (\d+)/m.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
      victim.child.kill('SIGKILL');
      await victim.exited;
      // The producers keep writing through the failover (the gateway retries and refills what the new owner lacks).
      await write(30, Math.ceil((LEASE_TTL_MS + 2500) / 50) + 30);
      const finals = await Promise.all(streams.map((s) => s.tap.end()));

      finals.forEach((m, i) => expect(m, `conversation ${i}`).toMatchObject({ body: streams[i]!.sent, streaming: false, truncated: false }));
      for (const member of [near, far]) {
        for (const [i, s] of streams.entries()) {
          const seq = finals[i]!.seq;
          const [final] = await member.waitForEvents((e) => e.ev === 'message.updated' && (e.message as Msg).conversationId === s.id && (e.message as Msg).streaming === false, 1, 10_000);
          expect((final!.message as Msg).body).toBe(s.sent);
          // Deltas arrive in body order: each starts at or before the body so far; applying them never doubles text.
          let body = (member.events.find((e) => e.ev === 'message.new' && (e.message as Msg).conversationId === s.id)!.message as Msg).body;
          let gaps = 0;
          for (const d of member.events.filter((e: EventFrame) => e.ev === 'message.delta' && e.conversationId === s.id && e.seq === seq)) {
            if ((d.offset as number) > body.length) gaps++; // a delta lost with the dead host: the final message repairs it
            else body += (d.text as string).slice(body.length - (d.offset as number));
          }
          if (gaps === 0) expect(s.sent.startsWith(body)).toBe(true);
        }
      }
      // One message per stream, stored once, whatever the failover did.
      for (const s of streams) {
        const history = await api.call<{ messages: { clientMsgId: string; body: string }[] }>('history', { conversationId: s.id });
        expect(history.messages.filter((m) => m.clientMsgId === `reply-${s.id}`)).toHaveLength(1);
      }
    } finally {
      api.close();
    }
  });
});
