import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsBus, connectNatsBus, parseMetricsText, silentLogger } from '@chat/platform';
import { ActorReply, ActorRequest, newGroupId, shardOf, shardSubject } from '@chat/proto';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { mountSmallDisk } from '@chat/testkit/small-disk';
import { startClusterActors } from './actors.js';
import type { RunningSystem } from './standalone.js';

// `chat actors` (in this process) on NATS with its SQLite store on a 4 MiB
// tmpfs of the test's own; the test talks to it as a gateway would. Skipped
// where mounting is not permitted (see conversation-actors' write-health.test.ts).
const { disk, skipReason } = mountSmallDisk(4 * 1024 * 1024);
if (skipReason) console.warn(`full-disk test skipped: ${skipReason}`);
const SHARDS = 4;

let nats: NatsServerProcess;
let bus: NatsBus;
let actors: RunningSystem;

beforeAll(async () => {
  if (!disk) return;
  nats = await startNatsServer();
  actors = await startClusterActors(silentLogger(), {
    PORT: '0',
    NATS_URL: nats.url,
    DATA_DIR: `${disk.path}/data`,
    SHARDS: String(SHARDS),
    LEASE_TTL_MS: '2000',
    LOG_LEVEL: 'silent',
  });
  bus = await connectNatsBus({ servers: nats.url, name: 'test-gateway', logger: silentLogger() });
});
afterAll(async () => {
  await bus?.close();
  await actors?.stop();
  await nats?.stop();
  disk?.unmount();
});

const readyz = async () => (await fetch(`http://127.0.0.1:${actors.port}/readyz`)).status;
const writableGauge = async () =>
  parseMetricsText(await (await fetch(`http://127.0.0.1:${actors.port}/metrics`)).text()).find((m) => m.name === 'chat_store_writable')?.value;

/** A request as a gateway sends it, retried while the shard has no owner yet (as a gateway's lane would). */
async function call(op: ActorRequest['op'], conversationId: string): Promise<ActorReply> {
  const req: ActorRequest = { caller: { id: 'ann', name: 'Ann' }, conversationId, receivedAt: 0, sessionId: '', laneSeq: 0, laneAfter: 0, op };
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      const msg = await bus.request(shardSubject(shardOf(conversationId, SHARDS)), ActorRequest.encode(req).finish(), { timeoutMs: 5000 });
      const reply = ActorReply.decode(msg.data);
      const f = reply.result?.$case === 'failure' ? reply.result.value : undefined;
      if (!(f?.code === 'unavailable' && !f.noRetry) || performance.now() > deadline) return reply;
    } catch (err) {
      if (performance.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!disk)(`an actor host on a full disk${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('answers sends unavailable (not to be resent), says not ready, and is ready again by itself once space returns', async () => {
    const id = newGroupId();
    expect((await call({ $case: 'createGroup', value: { title: 'disk', memberIds: [] } }, id)).result?.$case).toBe('conversation');
    expect(await readyz()).toBe(200);
    expect(await writableGauge()).toBe(1);

    disk!.fill();
    let refused: ActorReply | undefined;
    for (let i = 0; i < 400 && !refused; i++) {
      const reply = await call({ $case: 'send', value: { clientMsgId: `m${i}`, body: 'x'.repeat(4000), attachments: [] } }, id);
      if (reply.result?.$case === 'failure') refused = reply;
    }
    expect(refused?.result).toMatchObject({ $case: 'failure', value: { code: 'unavailable', noRetry: true } });
    expect(await readyz()).toBe(503);
    expect(await writableGauge()).toBe(0);

    disk!.free();
    const deadline = performance.now() + 10_000;
    while ((await readyz()) !== 200) {
      expect(performance.now(), 'ready again within 10 s of space returning').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await call({ $case: 'send', value: { clientMsgId: 'after', body: 'space is back', attachments: [] } }, id);
    expect(after.result).toMatchObject({ $case: 'send', value: { message: { body: 'space is back' } } });
    expect(await writableGauge()).toBe(1);
  }, 60_000);
});
