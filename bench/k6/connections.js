// Connection capacity: ramp linearly to CONNECTIONS open sessions, hold them,
// and sample the gateways' /metrics (OPS_URLS: their ops ports, for cluster gateways) to read memory per connection.
//
//   k6 run -e GATEWAYS=http://localhost:8080 -e CONNECTIONS=10000 bench/k6/connections.js
//
// Each VU holds CONNS_PER_VU sockets (the event-based WebSocket API lets one VU
// own many), so 10,000 connections need 1,000 VUs rather than 10,000. Every
// connection k logs in as k6c-<run>-<k>, opens its socket at ramp·k/CONNECTIONS
// to gateway k mod |GATEWAYS|, waits for hello, and stays open until the end of
// HOLD. A second scenario scrapes every gateway's /metrics every SAMPLE_EVERY.
// Connect time must stay under P99_MS at p99; connections started in the first
// WARMUP of the ramp (default 0) are tagged window:warmup and not judged.
import exec from 'k6/execution';
import { sleep } from 'k6';
import { Gauge } from 'k6/metrics';
import { env, envNum, gatewayOpsUrls, gateways, gatewayTag, k6Duration, newRunId, parseDuration, scrapeGateway, sleepMs } from './lib/chat.js';
import { joinAs, windowTag } from './lib/metrics.js';

const GATEWAYS = gateways();
const OPS = gatewayOpsUrls(GATEWAYS);
const CONNECTIONS = envNum('CONNECTIONS', 10000);
const PER_VU = Math.max(1, envNum('CONNS_PER_VU', 10));
const RAMP_MS = parseDuration(env('RAMP', '2m'));
const HOLD_MS = parseDuration(env('HOLD', '3m'));
const SAMPLE_EVERY_S = parseDuration(env('SAMPLE_EVERY', '10s')) / 1000;
const WARMUP_MS = parseDuration(env('WARMUP', '0s'));
const P99_MS = envNum('P99_MS', 100);
const VUS = Math.ceil(CONNECTIONS / PER_VU);

/** Sums over all gateways, from the latest /metrics scrape. */
const gwConnections = new Gauge('gateway_connections');
const gwRss = new Gauge('gateway_rss_bytes');
/** (RSS now − RSS before the test) / (connections now − connections before), summed over gateways. */
const gwRssPerConnection = new Gauge('gateway_rss_per_connection_bytes');

export const options = {
  setupTimeout: '1m',
  scenarios: {
    connections: {
      executor: 'per-vu-iterations',
      exec: 'hold',
      vus: VUS,
      iterations: 1,
      maxDuration: k6Duration(RAMP_MS + HOLD_MS + 60000),
    },
    gateway_metrics: {
      executor: 'constant-vus',
      exec: 'sample',
      vus: 1,
      duration: k6Duration(RAMP_MS + HOLD_MS),
    },
  },
  thresholds: {
    'chat_connect_time{window:measured}': [`p(99)<${P99_MS}`],
    chat_connect_failed: ['rate<0.01'],
    // A held socket closed by the server (code tag: 1001 shutdown, 4003 slow consumer, ...).
    chat_connection_drops: ['count<1'],
  },
};

function scrapeAll() {
  const out = {};
  for (const gw of GATEWAYS) out[gw] = scrapeGateway(OPS[gw]);
  return out;
}

export function setup() {
  const baseline = scrapeAll();
  for (const gw of GATEWAYS) {
    const b = baseline[gw];
    if (!b) console.warn(`${OPS[gw]}/metrics is unreachable: no memory figures for ${gw}`);
    else console.log(`baseline ${gw}: connections=${b.connections} rss=${(b.rss / 1048576).toFixed(1)} MiB`);
  }
  return { runId: newRunId(), t0: Date.now(), baseline };
}

async function holdOne(k, data, closeAt) {
  await sleepMs(data.t0 + (RAMP_MS * k) / CONNECTIONS - Date.now());
  const gw = GATEWAYS[k % GATEWAYS.length];
  const tags = { gateway: gatewayTag(gw), window: windowTag(Date.now(), data.t0 + WARMUP_MS) };
  const joined = await joinAs(gw, `k6c-${data.runId}-${k}`, tags);
  if (!joined) return;
  // Hold until the end of HOLD, or until the server drops the socket.
  await Promise.race([sleepMs(closeAt - Date.now()), joined.session.done]);
  joined.session.close();
}

export async function hold(data) {
  const first = exec.scenario.iterationInTest * PER_VU;
  const closeAt = data.t0 + RAMP_MS + HOLD_MS + 5000; // after the last /metrics sample
  const jobs = [];
  for (let k = first; k < first + PER_VU && k < CONNECTIONS; k++) jobs.push(holdOne(k, data, closeAt));
  await Promise.all(jobs);
}

export function sample(data) {
  let rss = 0;
  let conns = 0;
  let dRss = 0;
  let dConns = 0;
  let unreachable = 0;
  const lines = [];
  for (const gw of GATEWAYS) {
    const m = scrapeGateway(OPS[gw]);
    if (!m) {
      lines.push(`${gw}: /metrics unreachable`);
      unreachable += 1;
      continue;
    }
    rss += m.rss;
    conns += m.connections;
    const b = data.baseline[gw];
    let per = '-';
    if (b && m.connections > b.connections) {
      dRss += m.rss - b.rss;
      dConns += m.connections - b.connections;
      per = ((m.rss - b.rss) / (m.connections - b.connections) / 1024).toFixed(1);
    }
    lines.push(`${gw}: connections=${m.connections} rss=${(m.rss / 1048576).toFixed(1)} MiB per-connection=${per} KiB`);
  }
  if (lines.length > unreachable) {
    gwConnections.add(conns);
    gwRss.add(rss);
  }
  if (dConns > 0) gwRssPerConnection.add(dRss / dConns);
  const t = Math.round((Date.now() - data.t0) / 1000);
  console.log(`[t=${t}s] ${lines.join(' | ')}`);
  sleep(SAMPLE_EVERY_S);
}

export function teardown(data) {
  // The sockets are closed by now: connections should be back at the baseline.
  const after = scrapeAll();
  for (const gw of GATEWAYS) {
    const m = after[gw];
    if (m) console.log(`after close ${gw}: connections=${m.connections} rss=${(m.rss / 1048576).toFixed(1)} MiB (baseline ${data.baseline[gw] ? (data.baseline[gw].rss / 1048576).toFixed(1) : '?'} MiB)`);
  }
}
