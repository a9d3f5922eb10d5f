// StreamMessage over gRPC (issue 14's second target): STREAMS callers, each
// streaming DELTA_RATE deltas/s into one message in a DM for DURATION; the
// other member, on a WebSocket, measures each delta from write to its
// message.delta, and checks that the final body is the concatenation of what
// was written. The same scenario as `node bench/run.mjs grpc-load stream`.
//
//   k6 run -e GATEWAYS=http://localhost:8080 -e GRPC=localhost:9090 -e STREAMS=200 -e DELTA_RATE=20 bench/k6/grpc-stream.js
//
// Deltas carry their write time as ms since the start in base 36 (`<k3f>`),
// short enough that a minute of them fits the default 4,000-character body.
import exec from 'k6/execution';
import { env, envNum, gateways, gatewayTag, k6Duration, login, loginBatch, newRunId, paced, parseDuration, sleepMs, userIdFor } from './lib/chat.js';
import { joinAs, recordReply, windowTag } from './lib/metrics.js';
import { Client, GRPC_TARGET, PROTO_DIR, Stream, bearer, bodyMismatches, deltaLatency, grpcErrors } from './lib/grpc.js';

const GATEWAYS = gateways();
const STREAMS = envNum('STREAMS', 200);
const DELTA_RATE = envNum('DELTA_RATE', 20);
const DURATION_MS = parseDuration(env('DURATION', '20s'));
const START_DELAY_MS = parseDuration(env('START_DELAY', '10s'));
const WARMUP_MS = parseDuration(env('WARMUP', '3s'));
const DRAIN_MS = parseDuration(env('DRAIN', '3s'));
const P99_MS = envNum('P99_MS', 50);

export const options = {
  setupTimeout: '5m',
  scenarios: {
    stream: { executor: 'per-vu-iterations', vus: STREAMS, iterations: 1, maxDuration: k6Duration(START_DELAY_MS + WARMUP_MS + DURATION_MS + DRAIN_MS + 120000) },
  },
  thresholds: {
    'chat_delta_latency{window:measured}': [`p(99)<${P99_MS}`],
    chat_grpc_errors: ['count<1'],
    chat_stream_body_mismatches: ['count<1'],
  },
};

// One client per VU (k6 runs the init stage once per VU), loaded from the repository's proto files.
const api = new Client();
api.load([PROTO_DIR], 'chat/v1/api.proto');
const callerName = (runId, i) => `k6sc-${runId}-${i}`;
const recipientName = (runId, i) => `k6sr-${runId}-${i}`;

export function setup() {
  const runId = newRunId();
  const entries = [];
  for (let i = 0; i < STREAMS; i++) {
    const gateway = GATEWAYS[i % GATEWAYS.length];
    entries.push({ gateway, name: callerName(runId, i) }, { gateway, name: recipientName(runId, i) });
  }
  const failed = loginBatch(entries).filter((r) => !r.ok);
  if (failed.length > 0) console.warn(`${failed.length} dev logins failed in setup, e.g. ${failed[0].error}`);
  console.log(`run ${runId}: ${STREAMS} StreamMessage calls × ${DELTA_RATE} deltas/s against ${GRPC_TARGET}`);
  const startAt = Date.now() + START_DELAY_MS;
  return { runId, startAt, measureFrom: startAt + WARMUP_MS };
}

export default async function (data) {
  const i = exec.scenario.iterationInTest;
  if (i >= STREAMS) return;
  const gw = GATEWAYS[i % GATEWAYS.length];
  const tags = { gateway: gatewayTag(gw) };
  const caller = await login(gw, callerName(data.runId, i));
  const joined = await joinAs(gw, recipientName(data.runId, i), tags);
  if (!caller.ok || !joined) return;
  const s = joined.session;
  const open = await s.request('conversation.open_dm', { userId: userIdFor(callerName(data.runId, i)) });
  if (!recordReply('conversation.open_dm', open, tags)) return s.close();
  const conversationId = open.conversation.id;

  let written = '';
  let finalBody = null;
  s.onEvent = (f) => {
    if (f.ev === 'message.delta' && f.conversationId === conversationId) {
      const now = Date.now();
      // A coalesced delta carries several written pieces, each stamped.
      for (const m of String(f.text).matchAll(/<([0-9a-z]+)>/g)) {
        const at = data.startAt + parseInt(m[1], 36);
        deltaLatency.add(now - at, { gateway: tags.gateway, window: windowTag(at, data.measureFrom) });
      }
    } else if (f.ev === 'message.updated' && f.message && f.message.conversationId === conversationId && f.message.streaming === false) {
      finalBody = f.message.body;
    }
  };

  api.connect(GRPC_TARGET, { plaintext: true });
  let reply = null;
  const stream = new Stream(api, 'chat.v1.ChatApi/StreamMessage', bearer(caller.token));
  stream.on('data', (r) => (reply = r));
  stream.on('error', (e) => grpcErrors.add(1, { status: String(e && e.code) }));
  stream.write({ start: { conversationId, clientMsgId: `s-${data.runId}-${i}` } });
  const endAt = data.measureFrom + DURATION_MS;
  await paced({
    startAt: Math.max(Date.now(), data.startAt + Math.random() * (1000 / DELTA_RATE)),
    endAt,
    rate: DELTA_RATE,
    tick: (now) => {
      const text = `<${(now - data.startAt).toString(36)}>`;
      stream.write({ delta: { text } });
      written += text;
      return true;
    },
  });
  stream.write({ end: {} });
  stream.end();
  await Promise.race([sleepMs(endAt + DRAIN_MS - Date.now()), s.done]);
  const stored = reply && reply.message ? reply.message.body : null;
  if (stored !== written || finalBody !== written) bodyMismatches.add(1, tags);
  api.close();
  s.close();
}
