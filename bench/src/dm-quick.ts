import WebSocket from 'ws';
import { parseArgs } from 'node:util';

/**
 * A quick DM latency probe (the full scenarios arrive with the benchmark
 * issue): `pairs` DM pairs each send `count` messages one at a time; the
 * receiver measures send→receive from a timestamp in the body, the sender
 * measures send→ack. Prints percentiles.
 *
 *   node bench/run.mjs dm-quick --url http://localhost:8080 --pairs 10 --count 200 --rate 40
 */
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:8080' },
    pairs: { type: 'string', default: '10' },
    count: { type: 'string', default: '200' },
    // Sends per second per sender; stays under the default per-session limit of 50/s.
    rate: { type: 'string', default: '40' },
  },
});
const base = values.url!;
const pairs = Number(values.pairs);
const count = Number(values.count);
const intervalMs = 1000 / Number(values.rate);

interface Conn {
  ws: WebSocket;
  next: number;
  pending: Map<string, (f: Record<string, unknown>) => void>;
  onEvent?: (f: Record<string, unknown>) => void;
}

async function connect(name: string): Promise<Conn & { id: string }> {
  const res = await fetch(`${base}/v1/auth/dev-login`, { method: 'POST', body: JSON.stringify({ name }) });
  const { token, user } = (await res.json()) as { token: string; user: { id: string } };
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/ws?token=${token}`);
  const conn: Conn & { id: string } = { ws, next: 0, pending: new Map(), id: user.id };
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw)) as Record<string, unknown>;
      if (f.ev === 'hello') resolve();
      else if (typeof f.re === 'string') {
        conn.pending.get(f.re)?.(f);
        conn.pending.delete(f.re);
      } else conn.onEvent?.(f);
    });
  });
  return conn;
}

function call(c: Conn, op: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = String(++c.next);
  return new Promise((resolve) => {
    c.pending.set(id, resolve);
    c.ws.send(JSON.stringify({ id, op, ...args }));
  });
}

function pct(sorted: number[], p: number): string {
  const v = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return v.toFixed(3);
}

const run = Date.now().toString(36);
const delivery: number[] = [];
const acks: number[] = [];
await Promise.all(
  Array.from({ length: pairs }, async (_, p) => {
    const a = await connect(`qa-${run}-${p}`);
    const b = await connect(`qb-${run}-${p}`);
    const open = await call(a, 'conversation.open_dm', { userId: b.id });
    const conversationId = (open.conversation as { id: string }).id;
    let received = 0;
    let allReceived: () => void = () => {};
    const done = new Promise<void>((resolve) => (allReceived = resolve));
    b.onEvent = (f) => {
      if (f.ev !== 'message.new') return;
      const sentAt = Number((f.message as { body: string }).body);
      delivery.push(performance.timeOrigin + performance.now() - sentAt);
      if (++received === count) allReceived();
    };
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = start + i * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t0 = performance.now();
      const r = await call(a, 'message.send', { conversationId, clientMsgId: `m${i}`, body: String(performance.timeOrigin + t0) });
      if (r.ok !== true) throw new Error(`send failed: ${JSON.stringify(r)}`);
      acks.push(performance.now() - t0);
    }
    // Every acknowledged message must reach the receiver before its socket closes.
    await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
    if (received !== count) console.error(`pair ${p}: ${received} of ${count} messages delivered`);
    a.ws.close();
    b.ws.close();
  }),
);
delivery.sort((x, y) => x - y);
acks.sort((x, y) => x - y);
console.log(`dm-quick: ${pairs} DM pair(s), ${count} sends each at ${values.rate}/s, against ${base}`);
console.log(`  delivery send→receive ms: p50 ${pct(delivery, 50)}  p90 ${pct(delivery, 90)}  p99 ${pct(delivery, 99)}  max ${pct(delivery, 100)}  (n=${delivery.length})`);
console.log(`  ack send→ack ms:          p50 ${pct(acks, 50)}  p90 ${pct(acks, 90)}  p99 ${pct(acks, 99)}  max ${pct(acks, 100)}  (n=${acks.length})`);
