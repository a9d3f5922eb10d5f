// Maximum sustained message rate: PAIRS DM pairs (2·PAIRS sessions, all of
// them sending) raise the total rate in steps, START_RATE, START_RATE +
// STEP_RATE, … up to MAX_RATE messages/s, each step lasting STEP_DURATION.
// Every delivery latency sample is tagged with the stage its message was sent
// in, and each stage has its own threshold p(99) < P99_MS with abortOnFail: the
// run stops in the first stage where delivery latency no longer holds, and the
// stage before it is the sustained rate. Before stage 0, WARMUP at START_RATE
// is load only: its samples are tagged stage:warmup (and window:warmup) and
// no latency threshold selects them.
//
//   k6 run -e GATEWAYS=http://localhost:8080 -e START_RATE=1000 -e STEP_RATE=1000 -e MAX_RATE=20000 bench/k6/max-throughput.js
//
// Why steps inside long-lived VUs rather than a ramping-arrival-rate executor:
// an arrival-rate iteration would have to open its own socket (a k6 iteration
// ends only when its sockets are closed), so the test would measure logins and
// upgrades instead of messages. Here each VU holds one session for the whole
// run and paces its sends at stageRate / (2·PAIRS) per second.
import exec from 'k6/execution';
import { connect, env, envNum, gatewayTag, gateways, k6Duration, login, loginBatch, newRunId, paced, parseDuration, sleepMs, userIdFor } from './lib/chat.js';
import { Receiver, errorCodeThresholds, lateSessions, recordConnect, recordLoginFailure, recordReply, sendStamped, watchDrops, windowTag } from './lib/metrics.js';

const GATEWAYS = gateways();
const PAIRS = Math.max(1, envNum('PAIRS', 500));
const USERS = PAIRS * 2;
const START_RATE = envNum('START_RATE', 1000); // total messages/s in stage 0
const STEP_RATE = Math.max(1, envNum('STEP_RATE', 1000));
const MAX_RATE = Math.max(START_RATE, envNum('MAX_RATE', 20000));
const STEP_MS = parseDuration(env('STEP_DURATION', '30s'));
const START_DELAY_MS = parseDuration(env('START_DELAY', '15s'));
const WARMUP_MS = parseDuration(env('WARMUP', '3s'));
const DRAIN_MS = parseDuration(env('DRAIN', '5s'));
const BODY_SIZE = envNum('BODY_SIZE', 100);
const RATE_LIMIT = envNum('RATE_LIMIT', 50); // the gateway's RATE_LIMIT_PER_SEC, for the check in setup()
const P99_MS = envNum('P99_MS', 100);
const STAGES = Math.floor((MAX_RATE - START_RATE) / STEP_RATE) + 1;

const stageRate = (k) => START_RATE + k * STEP_RATE;
// Stage k runs from measureFrom + k·STEP_MS; the warm-up before it runs at stage 0's rate.
const stageAt = (measureFrom, t) => Math.min(STAGES - 1, Math.max(0, Math.floor((t - measureFrom) / STEP_MS)));
const stageTag = (measureFrom, t) => (t < measureFrom ? 'warmup' : String(stageAt(measureFrom, t)));

const stageThresholds = {};
for (let k = 0; k < STAGES; k++) {
  // Judged on its own samples only; k6 evaluates thresholds every few seconds while the test runs.
  stageThresholds[`chat_delivery_latency{stage:${k}}`] = [{ threshold: `p(99)<${P99_MS}`, abortOnFail: true }];
}

export const options = {
  setupTimeout: '5m',
  batch: 50,
  batchPerHost: 50,
  scenarios: {
    steps: {
      executor: 'per-vu-iterations',
      vus: USERS,
      iterations: 1,
      maxDuration: k6Duration(START_DELAY_MS + WARMUP_MS + STAGES * STEP_MS + DRAIN_MS + 120000),
    },
  },
  thresholds: Object.assign(
    {
      'chat_delivery_latency{window:measured}': [`p(99)<${P99_MS}`],
      // Errors (rate_limited above all) mean the load is not what was configured: stop.
      chat_error_rate: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s' }],
      chat_connect_failed: ['rate<0.01'],
    },
    stageThresholds,
    errorCodeThresholds(),
  ),
};

const nameOf = (runId, i) => `k6t-${runId}-${i}`;

export function setup() {
  const perUser = MAX_RATE / USERS;
  if (perUser >= RATE_LIMIT) {
    console.warn(`MAX_RATE=${MAX_RATE} over ${USERS} sessions is ${perUser.toFixed(1)} msg/s per session, at or over the gateway's limit of ${RATE_LIMIT}/s: raise PAIRS`);
  }
  const runId = newRunId();
  const entries = [];
  for (let i = 0; i < USERS; i++) entries.push({ gateway: GATEWAYS[i % GATEWAYS.length], name: nameOf(runId, i) });
  const failed = loginBatch(entries).filter((r) => !r.ok);
  if (failed.length > 0) console.warn(`${failed.length}/${USERS} dev logins failed in setup, e.g. ${failed[0].error}`);
  const plan = [];
  for (let k = 0; k < STAGES; k++) plan.push(`stage ${k}: ${stageRate(k)} msg/s`);
  console.log(`run ${runId}: ${PAIRS} DM pairs, ${WARMUP_MS / 1000}s of warm-up at ${START_RATE} msg/s, then ${STEP_MS / 1000}s per stage; ${plan.join(', ')}`);
  const startAt = Date.now() + START_DELAY_MS;
  return { runId, startAt, measureFrom: startAt + WARMUP_MS };
}

export default async function (data) {
  const i = exec.scenario.iterationInTest;
  if (i >= USERS) return;
  const gw = GATEWAYS[i % GATEWAYS.length];
  const base = { gateway: gatewayTag(gw) };
  const tagsAt = (t) => ({ gateway: gatewayTag(gw), stage: stageTag(data.measureFrom, t), window: windowTag(t, data.measureFrom) });
  const auth = await login(gw, nameOf(data.runId, i));
  if (!auth.ok) {
    recordLoginFailure(auth, base);
    return;
  }
  const c = await connect(gw, auth.token, { tags: base });
  recordConnect(c, base);
  if (!c.ok) return;
  const s = c.session;
  watchDrops(s, base);
  const rx = new Receiver(auth.user.id, tagsAt); // stage of the send time carried in the body
  s.onEvent = (f) => rx.onEvent(f);

  const open = await s.request('conversation.open_dm', { userId: userIdFor(nameOf(data.runId, i ^ 1)) });
  if (!recordReply('conversation.open_dm', open, base)) {
    s.close();
    return;
  }
  const conversationId = open.conversation.id;
  rx.expect(conversationId, open.conversation.lastSeq);
  if (Date.now() > data.startAt) lateSessions.add(1, base);

  const endAt = data.measureFrom + STAGES * STEP_MS;
  let n = 0;
  let announced = null;
  await paced({
    startAt: Math.max(Date.now(), data.startAt + Math.random() * (USERS / START_RATE) * 1000),
    endAt,
    rate: (now) => stageRate(stageAt(data.measureFrom, now)) / USERS,
    tick: (now) => {
      if (s.closed) return false;
      const k = stageTag(data.measureFrom, now);
      if (i === 0 && k !== announced) {
        announced = k;
        const rate = stageRate(stageAt(data.measureFrom, now));
        console.log(`${k === 'warmup' ? 'warm-up' : `stage ${k}`}: ${rate} msg/s total, ${(rate / USERS).toFixed(2)} msg/s per session`);
      }
      sendStamped(s, conversationId, `m${++n}`, BODY_SIZE, tagsAt);
      return true;
    },
  });
  await Promise.race([sleepMs(endAt + DRAIN_MS - Date.now()), s.done]);
  s.close();
}
