// The floor under issue 14's "SendMessage at 1,000 calls/s: call p99 ≤ 5 ms":
// the same load as `grpc-load send` (--rate unary calls a second from
// --callers callers over --channels channels, each call with a bearer token
// in its metadata and a ~100-byte body) against a grpc-js server that does
// nothing but answer each call with a ~200-byte reply, in its own process.
// Whatever the chat server adds comes on top of what this prints.
//   node bench/run.mjs grpc-floor [--rate 1000] [--duration 20]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Metadata, Server, type ServiceError, ServerCredentials, credentials } from '@grpc/grpc-js';
import { readCpuSeconds } from './proc-stat.js';
import { paced, sleep } from './pacing.js';
import { newHistogram, recordMs, summarize } from './stats.js';

const USAGE = 'usage: node bench/run.mjs grpc-floor [--rate 1000] [--callers 100] [--channels 4] [--duration 20] [--warmup 3] [--p99-ms 5]';
const PATH = '/floor.Echo/Call';
const passthrough = (b: Buffer): Buffer => b;
const REPLY = Buffer.alloc(200, 7);

function serve(): void {
  const server = new Server({ 'grpc.enable_channelz': 0 });
  server.addService(
    { call: { path: PATH, requestStream: false, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough } },
    { call: (_call: unknown, callback: (err: null, reply: Buffer) => void) => callback(null, REPLY) },
  );
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`${port}\n`);
  });
}

async function drive(o: { rate: number; callers: number; channels: number; durationS: number; warmupS: number; p99Ms: number }): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the gRPC floor server exited with ${code}`)));
  });
  // Distinct options make distinct channels, as grpc-load's --channels does.
  const channels = Array.from({ length: o.channels }, (_, i) => new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.enable_channelz': 0, 'floor.channel': i }));
  const callers = Array.from({ length: o.callers }, (_, i) => {
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${'t'.repeat(160)}${i}`);
    return { client: channels[i % channels.length]!, metadata };
  });
  const body = Buffer.alloc(100, 1);
  const latency = newHistogram();
  let measuring = false;
  let errors = 0;
  let n = 0;
  const fire = (): void => {
    const { client, metadata } = callers[n++ % callers.length]!;
    const started = performance.now();
    const window = measuring;
    client.makeUnaryRequest(PATH, passthrough, passthrough, body, metadata, (err: ServiceError | null) => {
      if (err) errors++;
      else if (window) recordMs(latency, performance.now() - started);
    });
  };
  const interval = 1000 / o.rate;
  await paced(interval, performance.now() + o.warmupS * 1000, fire);
  measuring = true;
  const cpu0 = readCpuSeconds(child.pid ?? 0);
  const before = n;
  await paced(interval, performance.now() + o.durationS * 1000, fire);
  const cpu1 = readCpuSeconds(child.pid ?? 0);
  const calls = n - before;
  measuring = false;
  await sleep(500);
  const s = summarize(latency);
  const pass = errors === 0 && s.p99 <= o.p99Ms;
  console.log(`grpc-floor: ${o.rate} unary calls/s from ${o.callers} callers on ${o.channels} channels, ${o.durationS} s measured after ${o.warmupS} s`);
  console.log(`  call → reply p50 ${s.p50.toFixed(2)} ms, p90 ${s.p90.toFixed(2)} ms, p99 ${s.p99.toFixed(2)} ms, max ${s.max.toFixed(1)} ms; errors ${errors}`);
  console.log(`  server process cpu ${(cpu1 - cpu0).toFixed(2)} s = ${(((cpu1 - cpu0) * 1e6) / Math.max(1, calls)).toFixed(1)} µs per call`);
  console.log(`${pass ? 'PASS' : 'FAIL'}: call p99 ${s.p99.toFixed(2)} ms (target ${o.p99Ms})`);
  channels.forEach((c) => c.close());
  child.kill('SIGTERM');
  return pass ? 0 : 1;
}

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    rate: { type: 'string', default: '1000' },
    callers: { type: 'string', default: '100' },
    channels: { type: 'string', default: '4' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'p99-ms': { type: 'string', default: '5' },
  },
});
if (values.serve) serve();
else {
  const numbers = [values.rate, values.callers, values.channels, values.duration, values.warmup, values['p99-ms']].map(Number);
  if (numbers.some((x) => !Number.isFinite(x) || x <= 0)) {
    console.error(USAGE);
    process.exit(2);
  }
  const [rate, callers, channels, durationS, warmupS, p99Ms] = numbers as [number, number, number, number, number, number];
  process.exitCode = await drive({ rate, callers, channels, durationS, warmupS, p99Ms });
}
