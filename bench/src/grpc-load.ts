import { parseArgs } from 'node:util';
import { Metadata, type ServiceError, credentials } from '@grpc/grpc-js';
import { ChatApiClient, type Conversation, type MessageReply } from '@chat/proto';
import { Client, type Login, devLogin } from './client.js';
import { ServerCpu } from './server-cpu.js';
import type { Histogram } from 'hdr-histogram-js';
import { newHistogram, recordMs, summarize } from './stats.js';
import { paced, sleep } from './pacing.js';

/**
 * Issue 14's gRPC targets, measured end to end: callers on the gRPC API,
 * recipients on WebSockets, on one machine (so one clock).
 *
 *   send:   --pairs callers each SendMessage into a DM at --rate calls/s in
 *           all; measures call → reply and call → WebSocket recipient.
 *   stream: --streams StreamMessage calls, each writing --delta-rate deltas/s
 *           into a DM for --duration s; measures delta written → the
 *           recipient's message.delta carrying it, and checks every stored
 *           body equals the concatenated deltas.
 *
 *   node bench/run.mjs grpc-load send --rate 1000
 *   node bench/run.mjs grpc-load stream --streams 200 --delta-rate 20
 */

const USAGE = `usage: node bench/run.mjs grpc-load <send|stream> [options]
  --url URL          the gateway's HTTP/WebSocket URL (default http://127.0.0.1:8080)
  --ops-url URL      its /readyz (a cluster gateway's OPS_PORT; default --url, as standalone serves it)
  --grpc HOST:PORT   its gRPC API (default 127.0.0.1:9090)
  --duration S       measured seconds (default 20), after --warmup S (default 3)
  --pairs N          send: callers, each with a WebSocket recipient (default 100)
  --rate N           send: SendMessage calls per second in all (default 1000)
  --streams N        stream: concurrent StreamMessage calls (default 200)
  --delta-rate N     stream: deltas per second per stream (default 20)
  --p99-ms N         the target: send: call p99 (default 5; recipients get 2x); stream: delta p99 (default 50)
  --channels N       gRPC channels the callers share (default 4)`;

class UsageError extends Error {}

function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      'ops-url': { type: 'string' },
      grpc: { type: 'string', default: '127.0.0.1:9090' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '3' },
      pairs: { type: 'string', default: '100' },
      rate: { type: 'string', default: '1000' },
      streams: { type: 'string', default: '200' },
      'delta-rate': { type: 'string', default: '20' },
      'p99-ms': { type: 'string' },
      channels: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const scenario = positionals[0];
  if (scenario !== 'send' && scenario !== 'stream') throw new UsageError('name a scenario: send or stream');
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
  return {
    scenario,
    url: values.url.replace(/\/$/, ''),
    opsUrl: (values['ops-url'] ?? values.url).replace(/\/$/, ''),
    grpc: values.grpc,
    durationMs: num('duration', values.duration, 1) * 1000,
    warmupMs: num('warmup', values.warmup, 0) * 1000,
    pairs: num('pairs', values.pairs, 1),
    rate: num('rate', values.rate, 1),
    streams: num('streams', values.streams, 1),
    deltaRate: num('delta-rate', values['delta-rate'], 0.1),
    p99Ms: num('p99-ms', values['p99-ms'] ?? (scenario === 'send' ? '5' : '50'), 0),
    channels: num('channels', values.channels, 1),
  };
}

const wall = () => performance.timeOrigin + performance.now();

interface Pair {
  caller: Login;
  metadata: Metadata;
  api: ChatApiClient;
  recipient: Client;
  conversationId: string;
}

/** `count` gRPC callers, each in a DM with a WebSocket recipient who hands its events to `onEvent`. */
async function pairs(o: ReturnType<typeof options>, count: number, onEvent: (frame: Record<string, unknown>) => void, onMessage: (m: { body: string }) => void): Promise<Pair[]> {
  const run = Date.now().toString(36);
  // Channelz off: grpc-js keeps per-call records for it that the generator would pay for in full GCs.
  const channels = Array.from({ length: o.channels }, () => new ChatApiClient(o.grpc, credentials.createInsecure(), { 'grpc.enable_channelz': 0 }));
  const out: Pair[] = [];
  for (let i = 0; i < count; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, count - i) }, async (_, j) => {
        const k = i + j;
        const [caller, receiver] = await Promise.all([devLogin(o.url, `gl-${run}-c${k}`), devLogin(o.url, `gl-${run}-r${k}`)]);
        const { client: recipient } = await Client.connect(o.url, receiver, { onMessage, onEvent, onUnexpectedClose: (code) => console.error(`recipient ${k} closed: ${code}`) });
        const metadata = new Metadata();
        metadata.set('authorization', `Bearer ${caller.token}`);
        const api = channels[k % channels.length]!;
        const conversation = await new Promise<Conversation>((resolve, reject) =>
          api.openDm({ userId: receiver.user.id }, metadata, (err, res) => (err ? reject(err) : resolve(res.conversation!))),
        );
        out[k] = { caller, metadata, api, recipient, conversationId: conversation.id };
      }),
    );
  }
  return out;
}

function line(name: string, h: Histogram): string {
  const s = summarize(h);
  return `${name.padEnd(34)} n=${String(s.count).padStart(7)}  p50 ${s.p50.toFixed(2)}  p90 ${s.p90.toFixed(2)}  p99 ${s.p99.toFixed(2)}  max ${s.max.toFixed(1)} ms`;
}

async function sendScenario(o: ReturnType<typeof options>, cpu: ServerCpu): Promise<boolean> {
  const calls = newHistogram();
  const deliveries = newHistogram();
  let measuring = false;
  let errors = 0;
  const all = await pairs(o, o.pairs, () => {}, (m) => {
    const sentAt = Number(/^t=(\d+(?:\.\d+)?);/.exec(m.body)?.[1]);
    if (measuring && sentAt > 0) recordMs(deliveries, wall() - sentAt);
  });
  let n = 0;
  const fire = () => {
    const p = all[n % all.length]!;
    const started = performance.now();
    const window = measuring;
    p.api.sendMessage(
      { conversationId: p.conversationId, clientMsgId: `gl-${n++}`, body: `t=${wall()}; hello`, attachments: [] },
      p.metadata,
      (err: ServiceError | null) => {
        if (err && errors++ === 0) console.error(`SendMessage failed: ${err.details}`);
        else if (window) recordMs(calls, performance.now() - started);
      },
    );
  };
  const interval = 1000 / o.rate;
  await paced(interval, performance.now() + o.warmupMs, fire);
  measuring = true;
  const before = cpu.read();
  const sentBefore = n;
  await paced(interval, performance.now() + o.durationMs, fire);
  const sent = n - sentBefore;
  const after = cpu.read();
  measuring = false;
  await sleep(1000);
  all.forEach((p) => p.recipient.close());
  const report = cpu.report(before, after, sent, 'delivered message');
  console.log(`grpc-load send: ${o.pairs} callers, ${o.rate} SendMessage/s, ${o.durationMs / 1000} s measured after ${o.warmupMs / 1000} s warm-up`);
  console.log(line('call → reply', calls));
  console.log(line('call → WebSocket recipient', deliveries));
  console.log(`errors ${errors}; server cpu ${report.usPer?.toFixed(1) ?? 'n/a'} µs per call (${report.cores?.toFixed(2) ?? 'n/a'} cores)`);
  const c = summarize(calls).p99;
  const d = summarize(deliveries).p99;
  const pass = errors === 0 && c <= o.p99Ms && d <= 2 * o.p99Ms && summarize(deliveries).count >= sent * 0.99;
  console.log(`${pass ? 'PASS' : 'FAIL'}: call p99 ${c.toFixed(2)} ms (target ${o.p99Ms}), recipient p99 ${d.toFixed(2)} ms (target ${2 * o.p99Ms})`);
  return pass;
}

async function streamScenario(o: ReturnType<typeof options>, cpu: ServerCpu): Promise<boolean> {
  const deltas = newHistogram();
  // Deltas are stamped with ms since t0 in base 36 (`<k3f>`): short, so 20 deltas/s for a
  // minute stay within the default 4,000-character body.
  const t0 = wall();
  let measuring = false;
  let errors = 0;
  const finals = new Map<string, string>();
  const all = await pairs(
    o,
    o.streams,
    (frame) => {
      if (frame.ev === 'message.delta') {
        const now = wall();
        // A coalesced delta carries several written pieces, each stamped when written.
        if (measuring) for (const m of String(frame.text).matchAll(/<([0-9a-z]+)>/g)) recordMs(deltas, now - (t0 + parseInt(m[1]!, 36)));
      } else if (frame.ev === 'message.updated') {
        const m = frame.message as { conversationId: string; body: string; streaming?: boolean };
        if (m.streaming === false) finals.set(m.conversationId, m.body);
      }
    },
    () => {},
  );
  const written = new Map<string, string>();
  const replies: Promise<MessageReply | null>[] = [];
  const calls = all.map((p, i) => {
    let settle!: (r: MessageReply | null) => void;
    replies.push(new Promise((resolve) => (settle = resolve)));
    const call = p.api.streamMessage(p.metadata, (err, res) => {
      if (err && errors++ === 0) console.error(`stream ${i} failed: ${err.details}`);
      settle(err ? null : res);
    });
    call.write({ kind: { $case: 'start', value: { conversationId: p.conversationId, clientMsgId: `gl-stream-${i}` } } });
    written.set(p.conversationId, '');
    return { p, call };
  });
  // Each stream writes on its own phase of the tick, so the load is even.
  let tick = 0;
  const write = () => {
    const s = calls[tick++ % calls.length]!;
    const text = `<${Math.round(wall() - t0).toString(36)}>`;
    s.call.write({ kind: { $case: 'delta', value: { text } } });
    written.set(s.p.conversationId, written.get(s.p.conversationId)! + text);
  };
  const interval = 1000 / (o.streams * o.deltaRate);
  await paced(interval, performance.now() + o.warmupMs, write);
  measuring = true;
  const before = cpu.read();
  const tickBefore = tick;
  await paced(interval, performance.now() + o.durationMs, write);
  const after = cpu.read();
  const count = tick - tickBefore;
  measuring = false;
  for (const s of calls) {
    s.call.write({ kind: { $case: 'end', value: {} } });
    s.call.end();
  }
  const answered = await Promise.all(replies);
  await sleep(1500);
  all.forEach((p) => p.recipient.close());
  let mismatched = 0;
  answered.forEach((r, i) => {
    const id = all[i]!.conversationId;
    if (!r?.message || r.message.body !== written.get(id) || finals.get(id) !== written.get(id)) mismatched++;
  });
  const report = cpu.report(before, after, count, 'delivered message');
  console.log(`grpc-load stream: ${o.streams} StreamMessage calls × ${o.deltaRate} deltas/s, ${o.durationMs / 1000} s measured after ${o.warmupMs / 1000} s warm-up`);
  console.log(line('delta written → WebSocket recipient', deltas));
  console.log(`errors ${errors}; bodies not equal to the concatenated deltas: ${mismatched} of ${o.streams}; server cpu ${report.usPer?.toFixed(1) ?? 'n/a'} µs per delta (${report.cores?.toFixed(2) ?? 'n/a'} cores)`);
  const p99 = summarize(deltas).p99;
  const pass = errors === 0 && mismatched === 0 && p99 <= o.p99Ms;
  console.log(`${pass ? 'PASS' : 'FAIL'}: delta p99 ${p99.toFixed(2)} ms (target ${o.p99Ms})`);
  return pass;
}

async function main(): Promise<number> {
  const o = options();
  const ready = await fetch(`${o.opsUrl}/readyz`).then((r) => r.ok, () => false);
  if (!ready) throw new Error(`${o.opsUrl}/readyz does not answer 200: is the server running?`);
  const cpu = await ServerCpu.find({ urls: [o.opsUrl], ports: [], pids: [] });
  const pass = o.scenario === 'send' ? await sendScenario(o, cpu) : await streamScenario(o, cpu);
  return pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      if (err.message) console.error(`error: ${err.message}\n`);
      console.error(USAGE);
      process.exit(err.message ? 2 : 0);
    }
    console.error(`grpc-load failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
