// The floor under issue 12's "server CPU per delivered DM": what a server that
// does nothing but the unavoidable work of a durable DM costs on this machine.
// It runs floor-server.ts in a child process (one stage per run, see there)
// and drives it as dm-latency drives the chat server: --pairs DM pairs, each
// member sending --rate msg/s with a random phase and a --body-size body, the
// first --warmup s unmeasured. It prints delivery p99 and the child's
// utime+stime (/proc) per delivered message.
//   node bench/run.mjs floor --stage relay
//   node bench/run.mjs floor --stage sqlite --pairs 250 --rate 2 --duration 20
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { FLOOR_STAGES, type FloorStage, startFloorServer } from './floor-server.js';
import { stampBody } from './message-body.js';
import { sleep } from './pacing.js';
import { readCpuSeconds } from './proc-stat.js';
import { fmtMs, newHistogram, recordMs, summarize } from './stats.js';

const USAGE = `usage: node bench/run.mjs floor --stage relay|thread|sqlite [--pairs 250] [--rate 2] [--duration 20] [--warmup 3] [--body-size 100]`;

async function serve(stage: FloorStage): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'chat-floor-'));
  process.on('SIGTERM', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  const port = await startFloorServer(stage, dir, createRequire(import.meta.url).resolve('better-sqlite3'));
  process.stdout.write(`${port}\n`);
}

async function drive(stage: FloorStage, o: { pairs: number; rate: number; durationS: number; warmupS: number; bodySize: number }): Promise<number> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', stage], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the floor relay exited with ${code}`)));
  });
  const sockets: WebSocket[] = [];
  for (let pair = 0; pair < o.pairs; pair++) {
    for (const side of [0, 1]) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/?pair=${pair}&side=${side}`);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      sockets.push(ws);
    }
  }
  const latency = newHistogram();
  let measuring = false;
  let windowStart = Infinity;
  let delivered = 0;
  let sent = 0;
  let received = 0;
  let nextId = 0;
  sockets.forEach((ws, i) => {
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { event?: string; message?: { body: string } };
      // Only the partner's copy counts as a delivery: the sender's echo is not one (as in dm-latency).
      if (!frame.message || Number(frame.message.body.split(' ')[2]) === i) return;
      received++;
      const sentAt = Number(frame.message.body.split(' ')[0]);
      if (measuring && sentAt >= windowStart) {
        delivered++;
        recordMs(latency, performance.now() - sentAt);
      }
    });
  });
  const timers = sockets.map((ws, i) =>
    setTimeout(
      () => {
        const tick = (): void => {
          sent++;
          // The body: the send time, the sender's index (to skip its own echo), then words.
          const body = stampBody(performance.now(), o.bodySize).replace(' ', ` s ${i} `);
          ws.send(JSON.stringify({ id: ++nextId, op: 'message.send', body }));
        };
        tick();
        timers[i] = setInterval(tick, 1000 / o.rate);
      },
      Math.random() * (1000 / o.rate),
    ),
  );
  await sleep(o.warmupS * 1000);
  measuring = true;
  windowStart = performance.now();
  const cpu0 = readCpuSeconds(child.pid ?? 0);
  await sleep(o.durationS * 1000);
  const cpu1 = readCpuSeconds(child.pid ?? 0);
  const counted = delivered;
  timers.forEach((t) => clearInterval(t));
  await sleep(500);
  const s = summarize(latency);
  const usPer = ((cpu1 - cpu0) * 1e6) / Math.max(1, counted);
  console.log(`floor ${stage}: ${o.pairs} pairs × 2 × ${o.rate} msg/s, ${o.bodySize}-character bodies, ${o.durationS} s measured after ${o.warmupS} s`);
  console.log(`  delivered ${counted} (${(counted / o.durationS).toFixed(0)}/s), lost ${sent - received}`);
  console.log(`  delivery p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms, max ${fmtMs(s.max)} ms`);
  console.log(`  relay process cpu ${(cpu1 - cpu0).toFixed(2)} s = ${usPer.toFixed(1)} µs per delivered message`);
  for (const ws of sockets) ws.close();
  child.kill('SIGTERM');
  return sent === received ? 0 : 1;
}

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    stage: { type: 'string', default: 'relay' },
    pairs: { type: 'string', default: '250' },
    rate: { type: 'string', default: '2' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    'body-size': { type: 'string', default: '100' },
  },
});
const stage = (values.serve ?? values.stage) as FloorStage;
if (!FLOOR_STAGES.includes(stage)) {
  console.error(USAGE);
  process.exit(2);
}
if (values.serve) await serve(stage);
else {
  const numbers = [values.pairs, values.rate, values.duration, values.warmup, values['body-size']].map(Number);
  if (numbers.some((n) => !Number.isFinite(n) || n <= 0)) {
    console.error(USAGE);
    process.exit(2);
  }
  const [pairs, rate, durationS, warmupS, bodySize] = numbers as [number, number, number, number, number];
  process.exitCode = await drive(stage, { pairs, rate, durationS, warmupS, bodySize });
}
