import { afterEach, describe, expect, it } from 'vitest';
import { ChatClient } from '@chat/testkit/chat-client';
import { OTLP_KIND, OtlpReceiver, type ReceivedSpan } from '@chat/testkit/otlp-receiver';
import { type ChatProcess, startProcess, tempDir } from '@chat/testkit/system-under-test';
import { GrpcChat } from '@chat/testkit/grpc-client';
import { freePort } from '@chat/testkit/servers';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** `chat standalone` exporting to a fresh receiver with `env`, and two users in a DM. */
async function tracedSystem(env: Record<string, string>) {
  const otlp = await OtlpReceiver.start();
  cleanups.push(() => otlp.close());
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const chat = await startProcess({ dataDir: dir.path, env: otlp.env(env) });
  cleanups.push(() => stop(chat));
  const ann = await ChatClient.login(chat.baseUrl, 'Sampled Ann');
  const bob = await ChatClient.login(chat.baseUrl, 'Sampled Bob');
  cleanups.push(() => Promise.all([ann.close(), bob.close()]).then(() => {}));
  const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
  return { otlp, chat, ann, bob, dm: conversation.id };
}

/** SIGTERM, as an operator stops it: a graceful stop exports every span ended before it. */
async function stop(chat: ChatProcess): Promise<void> {
  if (chat.process.exitCode !== null || chat.process.signalCode !== null) return;
  chat.process.kill('SIGTERM');
  const { code } = await chat.exited;
  expect(code, chat.output()).toBe(0);
}

async function sendMany(s: Awaited<ReturnType<typeof tracedSystem>>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await s.ann.call('message.send', { conversationId: s.dm, clientMsgId: `s${i}`, body: `sampled? ${i}` });
  await s.bob.waitForEvents((e) => e.ev === 'message.new', count, 10_000);
}

describe('chat standalone: trace sampling (OTEL_TRACES_SAMPLER)', () => {
  it('traceidratio with OTEL_TRACES_SAMPLER_ARG=0 exports no span while traffic flows, though tracing is on', async () => {
    const s = await tracedSystem({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    // On: /metrics switched to OpenMetrics for exemplars.
    expect((await fetch(`${s.chat.baseUrl}/metrics`)).headers.get('content-type')).toContain('application/openmetrics-text');
    await sendMany(s, 10);
    await stop(s.chat);
    expect(s.otlp.spans).toEqual([]);
  }, 60_000);

  it('parentbased_traceidratio keeps each trace whole: every trace that arrives has its root and all its hops, and some do not arrive', async () => {
    const s = await tracedSystem({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' });
    const SENDS = 24;
    await sendMany(s, SENDS);
    await stop(s.chat);

    const byTrace = new Map<string, ReceivedSpan[]>();
    for (const span of s.otlp.spans) byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
    for (const [traceId, spans] of byTrace) {
      const roots = spans.filter((x) => x.parentSpanId === undefined);
      expect(roots, `trace ${traceId}: one root`).toHaveLength(1);
      const ids = new Set(spans.map((x) => x.spanId));
      for (const x of spans) if (x.parentSpanId !== undefined) expect(ids.has(x.parentSpanId), `${x.name}'s parent is in trace ${traceId}`).toBe(true);
    }
    const sendTraces = [...byTrace.values()].filter((spans) => spans.some((x) => x.name === 'chat message.send' && x.parentSpanId === undefined));
    for (const spans of sendTraces) {
      expect(spans.map((x) => x.name).sort()).toEqual(
        ['actor request', 'actor send', 'chat message.send', 'deliver messageNew', 'mailbox wait', 'publish messageNew', 'store commit'].sort(),
      );
      for (const x of spans) expect(x.serviceName).toBe('chat-standalone');
    }
    // At 0.5, all 24 or none kept would be a 1 in 8 million chance.
    expect(sendTraces.length).toBeGreaterThan(0);
    expect(sendTraces.length).toBeLessThan(SENDS);
  }, 60_000);

  it('a group commit carrying several traced sends is a span of the first one, linked to the handling of every other', async () => {
    const s = await tracedSystem({});
    const COUNT = 12;
    // Pipelined: they wait in the actor's mailbox together and are written in fewer commits than sends.
    await Promise.all(Array.from({ length: COUNT }, (_, i) => s.ann.call('message.send', { conversationId: s.dm, clientMsgId: `b${i}`, body: `batch ${i}` })));
    await s.bob.waitForEvents((e) => e.ev === 'message.new', COUNT, 10_000);
    await stop(s.chat);

    const handlings = s.otlp.spans.filter((x) => x.name === 'actor send');
    expect(handlings).toHaveLength(COUNT);
    const commits = s.otlp.spans.filter((x) => x.name === 'store commit');
    for (const commit of commits) {
      expect(handlings.some((h) => h.spanId === commit.parentSpanId && h.traceId === commit.traceId)).toBe(true);
      expect(commit.attributes['chat.batch_size']).toBe(1 + commit.links.length);
    }
    // Every send is in exactly one commit, as its parent or as a link.
    const covered = commits.flatMap((c) => [c.parentSpanId, ...c.links.map((l) => l.spanId)]);
    expect(covered.sort()).toEqual(handlings.map((h) => h.spanId).sort());
    expect(commits.length).toBeLessThan(COUNT);
  }, 60_000);

  it('a query (conversation.list) is one trace: the op, its bus request, the query service handling it; a conversation op publishes within its trace; presence.get reaches the presence service within its trace', async () => {
    const s = await tracedSystem({});
    await s.ann.call('conversation.list', {});
    // The op's span ends last (after its reply is written), so once it is here the rest of its trace is too.
    const spans = await s.otlp.waitFor((all) => all.some((x) => x.name === 'chat conversation.list'));
    const root = spans.find((x) => x.name === 'chat conversation.list')!;
    expect(root.parentSpanId).toBeUndefined();
    const request = spans.find((x) => x.name === 'query request' && x.parentSpanId === root.spanId)!;
    expect(request).toBeDefined();
    const handling = spans.find((x) => x.name === 'query list')!;
    expect(handling).toMatchObject({ traceId: root.traceId, parentSpanId: request.spanId, kind: OTLP_KIND.SERVER });

    // The DM opened by tracedSystem: its conversation.updated for each member is published, and delivered, within its trace.
    const dm = spans.find((x) => x.name === 'chat conversation.open_dm')!;
    const handled = spans.find((x) => x.name === 'actor openDm' && x.traceId === dm.traceId)!;
    const publishes = spans.filter((x) => x.name === 'publish conversationUpdated' && x.parentSpanId === handled.spanId);
    expect(publishes).toHaveLength(2);
    const deliveries = spans.filter((x) => x.name === 'deliver conversationUpdated' && x.traceId === dm.traceId);
    expect(deliveries.map((d) => d.parentSpanId).sort()).toEqual(publishes.map((p) => p.spanId).sort());

    // presence.get: the contacts query, then the presence service.
    await s.ann.call('presence.get', { userIds: [s.bob.user.id] });
    const after = await s.otlp.waitFor((all) => all.some((x) => x.name === 'chat presence.get'));
    const get = after.find((x) => x.name === 'chat presence.get')!;
    const child = (name: string, parent: ReceivedSpan) => after.find((x) => x.name === name && x.parentSpanId === parent.spanId && x.traceId === parent.traceId);
    expect(child('query contactsAmong', child('query request', get)!)).toBeDefined();
    expect(child('presence get', child('presence request', get)!)).toBeDefined();
  }, 60_000);

  it('a gRPC StreamMessage call is one trace: every append it makes to the actor is a request under the call\'s span', async () => {
    const grpcPort = await freePort();
    const s = await tracedSystem({ GRPC_PORT: String(grpcPort) });
    const api = new GrpcChat(`127.0.0.1:${grpcPort}`, s.ann.token);
    cleanups.push(() => api.close());
    const stream = api.stream(s.dm, 'streamed-1');
    for (const w of ['one ', 'two ', 'three']) {
      stream.delta(w);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await stream.end()).body).toBe('one two three');
    const spans = await s.otlp.waitFor((all) => all.some((x) => x.name === 'chat StreamMessage'));
    const root = spans.find((x) => x.name === 'chat StreamMessage')!;
    expect(root.parentSpanId).toBeUndefined();
    const requests = spans.filter((x) => x.name === 'actor request' && x.parentSpanId === root.spanId);
    // The start (a send of an empty streaming message), then appends; the last ends it.
    expect(requests.length).toBeGreaterThanOrEqual(2);
    const handled = spans.filter((x) => x.traceId === root.traceId && x.name.startsWith('actor ') && x.name !== 'actor request').map((x) => x.name);
    expect(handled).toContain('actor send');
    expect(handled).toContain('actor streamAppend');
  }, 60_000);

  it('spans still held when it is stopped (SIGTERM) are exported before it exits', async () => {
    // A batch delay of a minute: nothing leaves before the stop.
    const s = await tracedSystem({ OTEL_BSP_SCHEDULE_DELAY: '60000' });
    await sendMany(s, 3);
    expect(s.otlp.spans).toEqual([]);
    await stop(s.chat);
    expect(s.otlp.spans.filter((x) => x.name === 'chat message.send')).toHaveLength(3);
    expect(s.otlp.spans.filter((x) => x.name === 'deliver messageNew')).toHaveLength(3);
  }, 60_000);

  it('a bad OTEL_TRACES_SAMPLER_ARG stops chat before it starts, with exit code 2 and the variable named', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    await expect(startProcess({ dataDir: dir.path, env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' } })).rejects.toThrow(
      /code 2[\s\S]*OTEL_TRACES_SAMPLER_ARG: expected a sampling ratio from 0 to 1 for traceidratio \(got "half"\)/,
    );
  }, 30_000);
});
