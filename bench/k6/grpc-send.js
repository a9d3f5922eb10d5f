// SendMessage over gRPC (issue 14's first target): PAIRS callers, each calling
// SendMessage into a DM at RATE calls/s; the other member of each DM is on a
// WebSocket and measures call → delivery from the body's send stamp. The same
// scenario as `node bench/run.mjs grpc-load send`.
//
//   k6 run -e GATEWAYS=http://localhost:8080 -e GRPC=localhost:9090 -e PAIRS=100 -e RATE=10 bench/k6/grpc-send.js
//
// Callers are dev-login users with JWTs (a bot token works the same way).
// The first WARMUP of sending is tagged window:warmup and left out of the
// thresholds: call p99 ≤ P99_MS (default 5), delivery p99 ≤ 2 × P99_MS.
import exec from 'k6/execution';
import { env, envNum, gateways, gatewayTag, k6Duration, login, loginBatch, newRunId, paced, parseDuration, sleepMs, stampBody, userIdFor } from './lib/chat.js';
import { Receiver, joinAs, recordReply, windowTag } from './lib/metrics.js';
import { Client, GRPC_TARGET, PROTO_DIR, StatusOK, bearer, grpcCallLatency, grpcErrors } from './lib/grpc.js';

const GATEWAYS = gateways();
const PAIRS = envNum('PAIRS', 100);
const RATE = envNum('RATE', 10); // calls/s per caller
const DURATION_MS = parseDuration(env('DURATION', '20s'));
const START_DELAY_MS = parseDuration(env('START_DELAY', '10s'));
const WARMUP_MS = parseDuration(env('WARMUP', '3s'));
const DRAIN_MS = parseDuration(env('DRAIN', '3s'));
const P99_MS = envNum('P99_MS', 5);

export const options = {
  setupTimeout: '5m',
  scenarios: {
    send: { executor: 'per-vu-iterations', vus: PAIRS, iterations: 1, maxDuration: k6Duration(START_DELAY_MS + WARMUP_MS + DURATION_MS + DRAIN_MS + 120000) },
  },
  thresholds: {
    'chat_grpc_call_latency{window:measured}': [`p(99)<${P99_MS}`],
    'chat_delivery_latency{window:measured}': [`p(99)<${2 * P99_MS}`],
    chat_grpc_errors: ['count<1'],
  },
};

// One client per VU (k6 runs the init stage once per VU), loaded from the repository's proto files.
const api = new Client();
api.load([PROTO_DIR], 'chat/v1/api.proto');
const callerName = (runId, i) => `k6gc-${runId}-${i}`;
const recipientName = (runId, i) => `k6gr-${runId}-${i}`;

export function setup() {
  const runId = newRunId();
  const entries = [];
  for (let i = 0; i < PAIRS; i++) {
    const gateway = GATEWAYS[i % GATEWAYS.length];
    entries.push({ gateway, name: callerName(runId, i) }, { gateway, name: recipientName(runId, i) });
  }
  const failed = loginBatch(entries).filter((r) => !r.ok);
  if (failed.length > 0) console.warn(`${failed.length} dev logins failed in setup, e.g. ${failed[0].error}`);
  console.log(`run ${runId}: ${PAIRS} callers × ${RATE} SendMessage/s (${PAIRS * RATE}/s) against ${GRPC_TARGET}`);
  const startAt = Date.now() + START_DELAY_MS;
  return { runId, startAt, measureFrom: startAt + WARMUP_MS };
}

export default async function (data) {
  const i = exec.scenario.iterationInTest;
  if (i >= PAIRS) return;
  const gw = GATEWAYS[i % GATEWAYS.length];
  const tags = { gateway: gatewayTag(gw) };
  const tagsAt = (t) => ({ gateway: tags.gateway, window: windowTag(t, data.measureFrom) });
  const caller = await login(gw, callerName(data.runId, i));
  const joined = await joinAs(gw, recipientName(data.runId, i), tags);
  if (!caller.ok || !joined) return;
  const s = joined.session;
  const rx = new Receiver(joined.user.id, tagsAt);
  s.onEvent = (f) => rx.onEvent(f);
  const open = await s.request('conversation.open_dm', { userId: userIdFor(callerName(data.runId, i)) });
  if (!recordReply('conversation.open_dm', open, tags)) return s.close();
  const conversationId = open.conversation.id;
  rx.expect(conversationId, open.conversation.lastSeq);

  api.connect(GRPC_TARGET, { plaintext: true });
  const params = bearer(caller.token);
  const endAt = data.measureFrom + DURATION_MS;
  let n = 0;
  await paced({
    startAt: Math.max(Date.now(), data.startAt + Math.random() * (1000 / RATE)),
    endAt,
    rate: RATE,
    tick: (now) => {
      const request = { conversationId, clientMsgId: `g${++n}`, body: stampBody(now, 100), attachments: [] };
      api.asyncInvoke('chat.v1.ChatApi/SendMessage', request, params).then((res) => {
        if (res.status !== StatusOK) grpcErrors.add(1, { status: String(res.status) });
        else grpcCallLatency.add(Date.now() - now, tagsAt(now));
      });
      return true;
    },
  });
  await Promise.race([sleepMs(endAt + DRAIN_MS - Date.now()), s.done]);
  api.close();
  s.close();
}
