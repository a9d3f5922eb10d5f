// Group fan-out latency: one group of MEMBERS members spread over every
// gateway, one sender sending RATE messages/s for DURATION; every other member
// measures send→receive from the body timestamp.
//
//   k6 run -e GATEWAYS=http://localhost:8080,http://localhost:8081 -e MEMBERS=1000 bench/k6/group-fanout.js
//
// Member i (0-based) is k6g-<run>-<i> on gateway i mod |GATEWAYS|; member 0 is
// the sender and the group's creator. setup() logs every member in with
// http.batch, which registers them with the cluster. The group itself is
// created by the sender's VU right after it connects (conversation.create_group
// is a WebSocket op, and k6 runs WebSocket event loops in VU code): members do
// not need the conversation id to receive message.new, only membership, and
// all of them are connected by the common start time START_DELAY after setup.
// The first WARMUP of sending is load only: its samples are tagged
// window:warmup and the latency thresholds (P99_MS) select window:measured.
import exec from 'k6/execution';
import { env, envNum, gateways, gatewayTag, k6Duration, loginBatch, newRunId, paced, parseDuration, sleepMs, userIdFor } from './lib/chat.js';
import { Receiver, errorCodeThresholds, joinAs, lateSessions, recordReply, sendStamped, windowTag } from './lib/metrics.js';

const GATEWAYS = gateways();
const MEMBERS = Math.min(1000, Math.max(2, envNum('MEMBERS', 1000))); // the creator included; the cluster's default cap is 1,000
const RATE = envNum('RATE', 1); // messages/s from the sender
const DURATION_MS = parseDuration(env('DURATION', '60s'));
const START_DELAY_MS = parseDuration(env('START_DELAY', '20s'));
const WARMUP_MS = parseDuration(env('WARMUP', '3s'));
const DRAIN_MS = parseDuration(env('DRAIN', '5s'));
const BODY_SIZE = envNum('BODY_SIZE', 100);
const RATE_LIMIT = envNum('RATE_LIMIT', 50); // the gateway's RATE_LIMIT_PER_SEC, for the check in setup()
const P99_MS = envNum('P99_MS', 100);

const perGatewayThresholds = {};
for (const gw of GATEWAYS) perGatewayThresholds[`chat_delivery_latency{gateway:${gatewayTag(gw)},window:measured}`] = [`p(99)<${P99_MS}`];

export const options = {
  setupTimeout: '5m',
  batch: 50,
  batchPerHost: 50,
  scenarios: {
    fanout: {
      executor: 'per-vu-iterations',
      vus: MEMBERS,
      iterations: 1,
      maxDuration: k6Duration(START_DELAY_MS + WARMUP_MS + DURATION_MS + DRAIN_MS + 120000),
    },
  },
  thresholds: Object.assign(
    {
      'chat_delivery_latency{window:measured}': [`p(95)<${P99_MS}`, `p(99)<${P99_MS}`],
      chat_error_rate: ['rate<0.001'],
      chat_connect_failed: ['rate<0.01'],
    },
    perGatewayThresholds,
    errorCodeThresholds(),
  ),
};

const nameOf = (runId, i) => `k6g-${runId}-${i}`;

export function setup() {
  if (RATE >= RATE_LIMIT) console.warn(`RATE=${RATE}/s from one session is at or over the gateway's per-session limit (${RATE_LIMIT}/s): expect rate_limited errors`);
  const runId = newRunId();
  const entries = [];
  for (let i = 0; i < MEMBERS; i++) entries.push({ gateway: GATEWAYS[i % GATEWAYS.length], name: nameOf(runId, i) });
  const failed = loginBatch(entries).filter((r) => !r.ok);
  // create_group needs every member to be known to the cluster.
  if (failed.length > 0) throw new Error(`${failed.length}/${MEMBERS} dev logins failed, e.g. ${failed[0].error}`);
  console.log(`run ${runId}: group of ${MEMBERS} over ${GATEWAYS.length} gateway(s), ${RATE} msg/s for ${WARMUP_MS / 1000}s of warm-up + ${DURATION_MS / 1000}s`);
  const startAt = Date.now() + START_DELAY_MS;
  return { runId, startAt, measureFrom: startAt + WARMUP_MS };
}

async function createGroup(s, runId, tags) {
  const members = [];
  for (let i = 1; i < MEMBERS; i++) members.push(userIdFor(nameOf(runId, i)));
  const reply = await s.request('conversation.create_group', { title: `k6 fan-out ${runId}`, members }, 30000);
  if (!recordReply('conversation.create_group', reply, tags)) {
    console.error(`create_group failed: ${JSON.stringify(reply.error)}`);
    return null;
  }
  return reply.conversation.id;
}

export default async function (data) {
  const i = exec.scenario.iterationInTest;
  if (i >= MEMBERS) return;
  const gw = GATEWAYS[i % GATEWAYS.length];
  const tags = { gateway: gatewayTag(gw) };
  const joined = await joinAs(gw, nameOf(data.runId, i), tags);
  if (!joined) return;
  const s = joined.session;
  const tagsAt = (t) => ({ gateway: tags.gateway, window: windowTag(t, data.measureFrom) });
  const rx = new Receiver(joined.user.id, tagsAt); // a fresh group: every member expects seq 1 first
  s.onEvent = (f) => rx.onEvent(f);
  if (Date.now() > data.startAt) lateSessions.add(1, tags);

  const endAt = data.measureFrom + DURATION_MS;
  if (i === 0) {
    const conversationId = await createGroup(s, data.runId, tags);
    if (conversationId === null) {
      s.close();
      return;
    }
    let n = 0;
    await paced({
      startAt: Math.max(Date.now(), data.startAt),
      endAt,
      rate: RATE,
      tick: () => {
        if (s.closed) return false;
        sendStamped(s, conversationId, `m${++n}`, BODY_SIZE, tagsAt);
        return true;
      },
    });
  }
  await Promise.race([sleepMs(endAt + DRAIN_MS - Date.now()), s.done]);
  s.close();
}
