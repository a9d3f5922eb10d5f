// DM delivery latency: USERS users in DM pairs, each sending RATE messages/s
// for DURATION; the receiver measures send→receive from the body timestamp.
//
//   k6 run -e GATEWAYS=http://localhost:8080 -e USERS=500 bench/k6/dm-latency.js
//
// User i (0-based) is k6d-<run>-<i> on gateway i mod |GATEWAYS| and pairs with
// user i^1, so with two or more gateways every pair crosses gateways. setup()
// logs everyone in once (a user must be known to the cluster before someone
// opens a DM with them); each VU then logs in again for its own token,
// connects, opens the DM (both ends call open_dm: the same pair always gets the
// same conversation), and waits for the common start time, START_DELAY after
// setup, so that every receiver is connected before anyone sends. The first
// WARMUP of sending is load only: its samples are tagged window:warmup and the
// latency thresholds (P99_MS) select window:measured. Errors and lost
// messages (seq gaps) count in both.
import exec from 'k6/execution';
import { env, envNum, gateways, gatewayTag, k6Duration, loginBatch, newRunId, paced, parseDuration, sleepMs, userIdFor } from './lib/chat.js';
import { Receiver, errorCodeThresholds, joinAs, lateSessions, recordReply, sendStamped, windowTag } from './lib/metrics.js';

const GATEWAYS = gateways();
const USERS = Math.max(2, Math.ceil(envNum('USERS', 500) / 2) * 2);
const RATE = envNum('RATE', 2); // messages/s per user
const DURATION_MS = parseDuration(env('DURATION', '60s'));
const START_DELAY_MS = parseDuration(env('START_DELAY', '10s'));
const WARMUP_MS = parseDuration(env('WARMUP', '3s'));
const DRAIN_MS = parseDuration(env('DRAIN', '5s'));
const BODY_SIZE = envNum('BODY_SIZE', 100);
const RATE_LIMIT = envNum('RATE_LIMIT', 50); // the gateway's RATE_LIMIT_PER_SEC, for the check in setup()
const P99_MS = envNum('P99_MS', 100);

export const options = {
  setupTimeout: '5m',
  batch: 50,
  batchPerHost: 50,
  scenarios: {
    dm: {
      executor: 'per-vu-iterations',
      vus: USERS,
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
    errorCodeThresholds(),
  ),
};

const nameOf = (runId, i) => `k6d-${runId}-${i}`;

export function setup() {
  if (RATE >= RATE_LIMIT) console.warn(`RATE=${RATE}/s per user is at or over the gateway's per-session limit (${RATE_LIMIT}/s): expect rate_limited errors`);
  const runId = newRunId();
  const entries = [];
  for (let i = 0; i < USERS; i++) entries.push({ gateway: GATEWAYS[i % GATEWAYS.length], name: nameOf(runId, i) });
  const failed = loginBatch(entries).filter((r) => !r.ok);
  if (failed.length > 0) console.warn(`${failed.length}/${USERS} dev logins failed in setup, e.g. ${failed[0].error}`);
  console.log(`run ${runId}: ${USERS / 2} DM pairs, ${RATE} msg/s per user (${USERS * RATE} msg/s total) for ${WARMUP_MS / 1000}s of warm-up + ${DURATION_MS / 1000}s`);
  const startAt = Date.now() + START_DELAY_MS;
  return { runId, startAt, measureFrom: startAt + WARMUP_MS };
}

export default async function (data) {
  const i = exec.scenario.iterationInTest;
  if (i >= USERS) return;
  const gw = GATEWAYS[i % GATEWAYS.length];
  const tags = { gateway: gatewayTag(gw) };
  const tagsAt = (t) => ({ gateway: tags.gateway, window: windowTag(t, data.measureFrom) });
  const joined = await joinAs(gw, nameOf(data.runId, i), tags);
  if (!joined) return;
  const s = joined.session;
  const rx = new Receiver(joined.user.id, tagsAt); // by the send time carried in the body
  s.onEvent = (f) => rx.onEvent(f);

  const open = await s.request('conversation.open_dm', { userId: userIdFor(nameOf(data.runId, i ^ 1)) });
  if (!recordReply('conversation.open_dm', open, tags)) {
    s.close();
    return;
  }
  const conversationId = open.conversation.id;
  rx.expect(conversationId, open.conversation.lastSeq);
  if (Date.now() > data.startAt) lateSessions.add(1, tags);

  const endAt = data.measureFrom + DURATION_MS;
  let n = 0;
  await paced({
    startAt: Math.max(Date.now(), data.startAt + Math.random() * (1000 / RATE)), // spread senders over the interval
    endAt,
    rate: RATE,
    tick: () => {
      if (s.closed) return false;
      sendStamped(s, conversationId, `m${++n}`, BODY_SIZE, tagsAt);
      return true;
    },
  });
  // Keep receiving what is still in flight, then close.
  await Promise.race([sleepMs(endAt + DRAIN_MS - Date.now()), s.done]);
  s.close();
}
