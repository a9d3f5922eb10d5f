import { describe, expect, it } from 'vitest';
import { ChatClient } from '@chat/testkit/chat-client';
import { SteadyLoad } from '@chat/testkit/cluster-load';
import { expectNothingLostOrDoubled, useCluster } from '@chat/testkit/cluster-fixture';
import { scrapeMetric } from './local-cluster.js';

const { start, login, track, senders } = useCluster();

describe('cluster: hosts joining, NATS restarting, gateways dying', () => {
  it('a fourth actor host joining under load takes its share by hand-off, with no lost or duplicated message', async () => {
    const c = await start(2, 3);
    const list = await senders(c, 12, 'join');
    const load = new SteadyLoad(list, { intervalMs: 40, retryForMs: 20_000, tag: 'j' }).start();
    await new Promise((r) => setTimeout(r, 1000));
    const joinedAt = Date.now();
    const newcomer = await c.addActorHost();
    await c.waitForShards();
    // The newcomer converges to its share (32 shards over 4 hosts).
    let owned = 0;
    for (let i = 0; i < 100 && owned !== 8; i++) {
      owned = await scrapeMetric(newcomer.opsUrl, 'chat_shards_owned');
      if (owned !== 8) await new Promise((r) => setTimeout(r, 100));
    }
    expect(owned).toBe(8);
    console.log(`hand-off: fourth host serving its 8 shards ${Date.now() - joinedAt} ms after it was started`);
    await new Promise((r) => setTimeout(r, 1000));
    await load.stop();
    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    expect(await expectNothingLostOrDoubled(load, list)).toBeGreaterThan(100);
  });

  it('nats-server restarted under load: gateways and hosts reconnect by themselves and no acknowledged message is lost', async () => {
    // Each phase has its own deadline, so a stuck phase fails with its name instead of the test's timeout.
    const t0 = Date.now();
    const phase = (name: string) => console.log(`nats restart: ${name} at ${Date.now() - t0} ms`);
    const c = await start(2, 2);
    const list = await senders(c, 10, 'nats');
    const load = new SteadyLoad(list, { intervalMs: 50, retryForMs: 20_000, tag: 'n' }).start();
    await new Promise((r) => setTimeout(r, 1000));
    const ackedBefore = load.acked().size;
    phase('killing nats-server');
    await c.nats.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await c.nats.restart();
    phase('nats-server restarted');
    // Everyone is ready again without being restarted.
    const readyBy = Date.now() + 15_000;
    for (const p of [...c.gateways, ...c.actorHosts]) {
      let ready = false;
      while (!ready && Date.now() < readyBy) {
        ready = (await fetch(`${p.opsUrl}/readyz`)).ok;
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, `${p.name} ready again`).toBe(true);
    }
    phase('all processes ready');
    await c.waitForShards(15_000);
    phase('all shards owned');
    // Sends flow again: wait for fresh acks (on a loaded machine this can take a few seconds).
    const flowingBy = Date.now() + 15_000;
    while (load.acked().size <= ackedBefore + 50 && Date.now() < flowingBy) await new Promise((r) => setTimeout(r, 100));
    phase(`${load.acked().size - ackedBefore} acks since the kill`);
    await load.stop();
    phase('load stopped');
    expect(load.acked().size).toBeGreaterThan(ackedBefore + 50);
    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    await expectNothingLostOrDoubled(load, list);
  }, 90_000);

  it('SIGKILL of a gateway: its clients reconnect to the other one and sync brings back everything they missed', async () => {
    const c = await start(2, 2);
    const [g1, g2] = c.gateways;
    const reader = await login(g1!.url, 'Reader');
    const writer = await login(g2!.url, 'Writer');
    const { conversation } = await writer.call<{ conversation: { id: string } }>('conversation.create_group', { title: 'kept', members: [reader.user.id] });
    const send = (i: number) => writer.call('message.send', { conversationId: conversation.id, clientMsgId: `w${i}`, body: `m${i}` });
    for (let i = 1; i <= 10; i++) await send(i);
    await reader.waitForEvents((e) => e.ev === 'message.new', 10);
    const seen = reader.messagesIn(conversation.id).map((m) => m.seq);

    g1!.child.kill('SIGKILL');
    const closed = await reader.closed();
    expect(closed.code).not.toBe(1000);
    for (let i = 11; i <= 30; i++) await send(i);

    // Reconnect to the other gateway with the same token and catch up.
    const again = track(await ChatClient.connect(g2!.url, reader.token));
    const synced = await again.call<{ messages: Record<string, { seq: number; body: string }[]>; truncated: string[] }>('sync', {
      since: { [conversation.id]: Math.max(...seen) },
    });
    expect(synced.truncated).toEqual([]);
    expect([...seen, ...synced.messages[conversation.id]!.map((m) => m.seq)]).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // And live delivery continues on the new gateway.
    await send(31);
    const [live] = await again.waitForEvents((e) => e.ev === 'message.new', 1);
    expect(live!.message).toMatchObject({ seq: 31, body: 'm31' });
  });
});
