import { afterEach, describe, expect, it } from 'vitest';
import { type NatsBus, connectNatsBus, silentLogger } from '@chat/platform';
import type { ChatClient } from '@chat/testkit/chat-client';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { GrpcChat } from '@chat/testkit/grpc-client';
import { OTLP_KIND, OtlpReceiver, type ReceivedSpan } from '@chat/testkit/otlp-receiver';
import type { LocalCluster } from '../cluster/local-cluster.js';

const { start, login } = useCluster();

const receivers: OtlpReceiver[] = [];
const taps: NatsBus[] = [];
afterEach(async () => {
  await Promise.all(taps.splice(0).map((t) => t.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<OtlpReceiver> {
  const r = await OtlpReceiver.start();
  receivers.push(r);
  return r;
}

const pidOf = (s: ReceivedSpan) => s.resource['process.pid'];

/** A DM between a user on gateway 1 and one on gateway 2, both gateways following it. */
async function dmAcrossGateways(c: LocalCluster, tag: string): Promise<{ ann: ChatClient & { user: { id: string } }; bob: ChatClient & { user: { id: string }; token: string }; dm: string }> {
  const [gw1, gw2] = c.gateways;
  const ann = await login(gw1!.url, `${tag} Ann`);
  const bob = await login(gw2!.url, `${tag} Bob`);
  const { conversation } = await ann.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: bob.user.id });
  await bob.waitForEvent((e) => e.ev === 'conversation.updated' && (e.conversation as { id: string }).id === conversation.id);
  return { ann, bob, dm: conversation.id };
}

/**
 * The trace of one message.send whose root span is `root`: asserts the
 * parent chain hop by hop, and that the event was delivered under the
 * publish span on each of `deliveringPids` (one consumer span per gateway).
 */
function expectSendTrace(spans: readonly ReceivedSpan[], root: ReceivedSpan, deliveringPids: unknown[]): void {
  const trace = spans.filter((s) => s.traceId === root.traceId);
  const only = (name: string, parent: ReceivedSpan): ReceivedSpan => {
    const found = trace.filter((s) => s.name === name && s.parentSpanId === parent.spanId);
    expect(found, `${name} under ${parent.name}`).toHaveLength(1);
    return found[0]!;
  };
  expect(root.parentSpanId).toBeUndefined();
  expect(root.kind).toBe(OTLP_KIND.SERVER);
  expect(root.serviceName).toBe('chat-gateway');
  expect(root.resource['chat.role']).toBe('gateway');

  const request = only('actor request', root);
  expect(request.kind).toBe(OTLP_KIND.CLIENT);
  expect(pidOf(request)).toBe(pidOf(root));

  const handling = only('actor send', request);
  expect(handling.kind).toBe(OTLP_KIND.SERVER);
  expect(handling.serviceName).toBe('chat-actors');
  expect(handling.resource['chat.role']).toBe('actors');
  const actorPid = pidOf(handling);

  for (const name of ['mailbox wait', 'store commit', 'publish messageNew']) expect(pidOf(only(name, handling))).toBe(actorPid);
  const publish = only('publish messageNew', handling);
  expect(publish.kind).toBe(OTLP_KIND.PRODUCER);

  const deliveries = trace.filter((s) => s.name === 'deliver messageNew');
  for (const d of deliveries) {
    expect(d.parentSpanId).toBe(publish.spanId);
    expect(d.kind).toBe(OTLP_KIND.CONSUMER);
    expect(d.serviceName).toBe('chat-gateway');
  }
  expect(deliveries.map(pidOf).sort()).toEqual([...deliveringPids].sort());
  // Nothing else in the trace: every span above, each once.
  expect(trace).toHaveLength(6 + deliveringPids.length);
}

describe('cluster: traces across every hop (OTLP http/json to a test receiver)', () => {
  it('one message.send between two gateways is one trace from the op to a delivery on each gateway; a gRPC SendMessage too; /metrics carries its trace id as an exemplar', async () => {
    const otlp = await receiver();
    const c = await start(2, 2, { env: otlp.env() });
    const [gw1, gw2] = c.gateways;
    const { ann, bob, dm } = await dmAcrossGateways(c, 'trace');
    const gatewayPids = [gw1!.child.pid, gw2!.child.pid];

    await ann.call('message.send', { conversationId: dm, clientMsgId: 't1', body: 'traced' });
    await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { clientMsgId: string }).clientMsgId === 't1');
    const isSendRoot = (transport: string) => (s: ReceivedSpan) => s.name === 'chat message.send' && s.attributes['chat.transport'] === transport;
    // Each process exports on its own: wait for every span the trace should have (6 and a delivery per gateway).
    const complete = (transport: string) => (spans: readonly ReceivedSpan[]) => {
      const root = spans.find(isSendRoot(transport));
      return root !== undefined && spans.filter((s) => s.traceId === root.traceId).length >= 6 + gatewayPids.length;
    };
    let spans = await otlp.waitFor(complete('websocket'));
    const wsRoot = spans.find(isSendRoot('websocket'))!;
    expect(pidOf(wsRoot)).toBe(gw1!.child.pid);
    expectSendTrace(spans, wsRoot, gatewayPids);

    // Bob's delivery on gateway 2 was observed with the trace's id as its exemplar (OpenMetrics, since tracing is on).
    const res = await fetch(`${gw2!.opsUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('application/openmetrics-text');
    const text = await res.text();
    const exemplars = text.split('\n').filter((l) => l.startsWith('chat_delivery_latency_seconds_bucket') && l.includes('# {traceId='));
    expect(exemplars.some((l) => l.includes(`traceId="${wsRoot.traceId}"`)), text.slice(0, 2000)).toBe(true);

    // The same send over gRPC, by Bob on gateway 2.
    const api = new GrpcChat(`127.0.0.1:${gw2!.grpcPort}`, bob.token);
    try {
      await api.call('sendMessage', { conversationId: dm, clientMsgId: 'g1', body: 'traced over gRPC', attachments: [] });
    } finally {
      api.close();
    }
    spans = await otlp.waitFor(complete('grpc'));
    const grpcRoot = spans.find(isSendRoot('grpc'))!;
    expect(grpcRoot.traceId).not.toBe(wsRoot.traceId);
    expect(pidOf(grpcRoot)).toBe(gw2!.child.pid);
    expectSendTrace(spans, grpcRoot, gatewayPids);
  }, 90_000);

  it('with tracing off (an endpoint set but OTEL_TRACES_EXPORTER=none) no bus message carries a traceparent, nothing is exported and /metrics stays Prometheus text', async () => {
    const otlp = await receiver();
    const c = await start(2, 1, { env: { ...otlp.env(), OTEL_TRACES_EXPORTER: 'none' } });
    const tap = await connectNatsBus({ servers: c.nats.url, name: 'tap', logger: silentLogger() });
    taps.push(tap);
    const seen: { subject: string; headers: Record<string, string> | undefined }[] = [];
    tap.subscribe('>', (msg) => seen.push({ subject: msg.subject, headers: msg.headers }));
    await tap.flush();

    const { ann, bob, dm } = await dmAcrossGateways(c, 'off');
    await ann.call('message.send', { conversationId: dm, clientMsgId: 'o1', body: 'untraced' });
    await bob.waitForEvent((e) => e.ev === 'message.new' && (e.message as { clientMsgId: string }).clientMsgId === 'o1');
    await new Promise((r) => setTimeout(r, 500));

    // The tap saw the request, its reply and the events: none has trace headers.
    expect(seen.some((m) => m.subject.startsWith('chat.shard.'))).toBe(true);
    expect(seen.some((m) => m.subject === `chat.conv.${dm}`)).toBe(true);
    expect(seen.filter((m) => m.headers?.traceparent !== undefined || m.headers?.tracestate !== undefined)).toEqual([]);
    expect(otlp.exports).toBe(0);
    const res = await fetch(`${c.gateways[0]!.opsUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).not.toContain('# EOF');
  }, 60_000);
});
