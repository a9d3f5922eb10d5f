// Shared client for the k6 chat scenarios: configuration from __ENV, dev login,
// and a WebSocket session with a promise-style request/reply helper (client
// protocol v1: requests {"id","op",...} get exactly one {"re":id,...} reply;
// events are {"ev":...}).
//
// Needs k6 v0.52 or newer (async/await, k6/timers, http.asyncRequest). On k6
// v1.x the WebSocket module is also available as 'k6/websockets'; this import
// is the only place to change.
import exec from 'k6/execution';
import http from 'k6/http';
import { WebSocket } from 'k6/experimental/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';

// ---- configuration -------------------------------------------------------

export function env(name, def) {
  const v = __ENV[name];
  return v === undefined || v === '' ? def : v;
}

export function envNum(name, def) {
  const n = Number(env(name, def));
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${__ENV[name]}"`);
  return n;
}

/** GATEWAYS=http://host:8080,http://host:8081 (default http://localhost:8080). */
export function gateways() {
  const list = env('GATEWAYS', 'http://localhost:8080')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new Error('GATEWAYS is empty');
  return list;
}

/**
 * Each gateway's ops endpoints (/metrics), in the order of GATEWAYS:
 * OPS_URLS=http://host:9101,http://host2:9101 for cluster gateways (OPS_PORT);
 * default the GATEWAYS themselves, as standalone serves them on its port.
 * Returns a map from gateway URL to its ops URL.
 */
export function gatewayOpsUrls(list = gateways()) {
  const ops = env('OPS_URLS', '')
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter((s) => s.length > 0);
  if (ops.length > 0 && ops.length !== list.length) throw new Error(`OPS_URLS needs one URL per gateway (${list.length}), got ${ops.length}`);
  return Object.fromEntries(list.map((gw, i) => [gw, ops[i] ?? gw]));
}

/** A gateway URL as a metric tag value: 'http://host:8080' → 'host_8080' (safe in threshold selectors). */
export function gatewayTag(gateway) {
  return gateway.replace(/^[a-z]+:\/\//i, '').replace(/[^A-Za-z0-9._-]+/g, '_');
}

const UNITS = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** A k6-style duration ('90s', '1m30s', '500ms', '2h'; a bare number is seconds) in ms. */
export function parseDuration(s) {
  const text = String(s).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let consumed = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) throw new Error(`bad duration "${s}"`);
  return total;
}

/** ms → a duration string k6 accepts in options. */
export function k6Duration(ms) {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/** The run id shared by every VU: call it in setup() and pass it on (each VU has its own runtime). */
export function newRunId() {
  return env('RUN_ID', Date.now().toString(36));
}

/** The user id dev login derives from a name (mirrors the gateway's devUserIdFor for ASCII names). */
export function userIdFor(name) {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
}

let warned = 0;

/** console.warn from the first 10 VUs only, 3 lines each: failures are counted in metrics, this is for the why. */
export function warnSome(message) {
  if (exec.vu.idInTest > 10 || warned >= 3) return;
  warned += 1;
  console.warn(`[vu ${exec.vu.idInTest}] ${message}`);
}

export function sleepMs(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// ---- dev login -----------------------------------------------------------

function loginRequest(gateway, name) {
  return {
    method: 'POST',
    url: `${gateway}/v1/auth/dev-login`,
    body: JSON.stringify({ name }),
    params: { headers: { 'Content-Type': 'application/json' }, tags: { name: 'dev-login' }, timeout: '30s' },
  };
}

function loginResult(res, name) {
  if (res.status !== 200) {
    return { ok: false, error: `dev-login ${name}: HTTP ${res.status} ${res.error || ''} ${String(res.body || '').slice(0, 200)}` };
  }
  try {
    const j = res.json();
    return { ok: true, token: j.token, user: j.user };
  } catch (err) {
    return { ok: false, error: `dev-login ${name}: bad JSON: ${err}` };
  }
}

/** POST /v1/auth/dev-login without blocking the VU's event loop → {ok, token, user} | {ok:false, error}. */
export async function login(gateway, name) {
  const r = loginRequest(gateway, name);
  const res = await http.asyncRequest(r.method, r.url, r.body, r.params);
  return loginResult(res, name);
}

/** Logs many users in (for setup(): registers them with the cluster). entries: [{gateway, name}]. */
export function loginBatch(entries, chunk = 100) {
  const out = [];
  for (let i = 0; i < entries.length; i += chunk) {
    const part = entries.slice(i, i + chunk);
    const responses = http.batch(part.map((e) => loginRequest(e.gateway, e.name)));
    responses.forEach((res, k) => out.push(loginResult(res, part[k].name)));
  }
  return out;
}

// ---- WebSocket session ---------------------------------------------------

export const REQUEST_TIMEOUT_MS = envNum('REQUEST_TIMEOUT_MS', 10000);

function localError(code, message) {
  return { ok: false, error: { code, message } };
}

/**
 * One socket. request() resolves with the reply frame, ok or not; client-side
 * failures resolve as {ok:false, error:{code:'timeout'|'closed'}} so callers
 * never see a rejection. onEvent(frame) gets every {"ev":...} frame after hello;
 * onClose(code) runs once when the socket closes. `done` resolves on close.
 */
export class Session {
  constructor(ws, gateway) {
    this.ws = ws;
    this.gateway = gateway;
    this.nextId = 0;
    this.pending = new Map();
    this.onEvent = null;
    this.onClose = null;
    this.closed = false;
    this.closing = false;
    this.hello = null;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  request(op, args, timeoutMs) {
    if (this.closed) return Promise.resolve(localError('closed', `${op}: socket is closed`));
    const id = String(++this.nextId);
    const wait = timeoutMs || REQUEST_TIMEOUT_MS;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(localError('timeout', `${op}: no reply in ${wait} ms`));
      }, wait);
      this.pending.set(id, { resolve, timer });
      try {
        this.ws.send(JSON.stringify(Object.assign({}, args || {}, { id, op })));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(localError('closed', `${op}: send failed: ${err}`));
      }
    });
  }

  /** Closes the socket (a close we asked for: not counted as a drop). */
  close() {
    this.closing = true;
    if (this.closed) return;
    try {
      this.ws.close();
    } catch (err) {
      this.handleClose(undefined);
    }
  }

  handleFrame(f) {
    if (typeof f.re === 'string') {
      const p = this.pending.get(f.re);
      if (!p) return; // a reply after its timeout
      this.pending.delete(f.re);
      clearTimeout(p.timer);
      p.resolve(f);
    } else if (typeof f.ev === 'string' && this.onEvent) {
      this.onEvent(f);
    }
  }

  handleClose(code) {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve(localError('closed', `request ${id}: socket closed`));
    }
    this.pending.clear();
    if (this.onClose) this.onClose(code);
    this.resolveDone(code);
  }
}

/**
 * Opens ws(s)://gateway/v1/ws (token in the Authorization header, so the k6
 * `url` tag stays the same for every socket) and waits for the hello frame.
 * Resolves {ok:true, session, connectMs} (connectMs: socket creation → hello)
 * or {ok:false, reason, error}; never rejects.
 */
export function connect(gateway, token, opts) {
  const o = opts || {};
  return new Promise((resolve) => {
    const started = Date.now();
    let settled = false;
    let timer = null;
    let s = null;
    const settle = (result) => {
      if (settled) return;
      settled = true;
      if (timer !== null) clearTimeout(timer);
      if (!result.ok && s) s.close();
      resolve(result);
    };
    let ws;
    try {
      ws = new WebSocket(`${gateway.replace(/^http/, 'ws')}/v1/ws`, null, {
        headers: { Authorization: `Bearer ${token}` },
        tags: o.tags || {},
      });
    } catch (err) {
      resolve({ ok: false, reason: 'error', error: String(err) });
      return;
    }
    s = new Session(ws, gateway);
    timer = setTimeout(() => settle({ ok: false, reason: 'hello_timeout', error: 'no hello frame' }), o.helloTimeoutMs || 10000);
    ws.onmessage = (e) => {
      let f;
      try {
        f = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (f === null || typeof f !== 'object') return;
      if (f.ev === 'hello' && s.hello === null) {
        s.hello = f;
        settle({ ok: true, session: s, connectMs: Date.now() - started });
        return;
      }
      s.handleFrame(f);
    };
    ws.onerror = (e) => {
      s.lastError = e && e.error ? String(e.error) : 'websocket error';
      settle({ ok: false, reason: 'error', error: s.lastError });
    };
    ws.onclose = (e) => {
      s.handleClose(e && e.code);
      settle({ ok: false, reason: 'closed_before_hello', error: s.lastError || 'closed' });
    };
  });
}

// ---- pacing and message bodies ------------------------------------------

/**
 * Calls tick(now) at `rate` per second (a number, or a function of now) from
 * startAt until endAt, on an absolute schedule; falls behind by at most 250 ms
 * (a longer stall drops the backlog instead of bursting into the rate limit).
 * A changed rate takes effect within 250 ms. tick returning false stops early.
 * Resolves when done.
 */
export function paced(o) {
  const rateAt = typeof o.rate === 'function' ? o.rate : () => o.rate;
  return new Promise((resolve) => {
    let last = null; // scheduled time of the latest tick
    const step = () => {
      const now = Date.now();
      if (now >= o.endAt) {
        resolve();
        return;
      }
      const r = rateAt(now);
      let next = last === null ? o.startAt : r > 0 ? last + 1000 / r : Infinity;
      if (now >= next) {
        if (o.tick(now) === false) {
          resolve();
          return;
        }
        last = next < now - 250 ? now : next;
        next = r > 0 ? last + 1000 / r : Infinity;
      }
      setTimeout(step, Math.max(0, Math.min(next, o.endAt, now + 250) - Date.now()));
    };
    step();
  });
}

// Words, as people's messages are (the store's search index works on each); the Node generator pads with the same (bench/src/message-body.ts).
const WORDS = 'see you at the station at nine then we can talk about the plan for next week and what the team needs ';
const PAD = WORDS.repeat(Math.ceil(4000 / WORDS.length));

/** A message body carrying its send time: "k6 <Date.now()> see you at…" padded with words to `size` characters (≤ 4000). */
export function stampBody(sentAt, size) {
  const head = `k6 ${sentAt} `;
  return head + PAD.slice(0, Math.max(0, Math.min(4000, size || 0) - head.length));
}

/** The send time stamped by stampBody, or NaN for other bodies. */
export function bodySentAt(body) {
  const m = /^k6 (\d+)/.exec(typeof body === 'string' ? body : '');
  return m ? Number(m[1]) : NaN;
}

// ---- Prometheus text -----------------------------------------------------

/** Sum of every sample of `name` (any labels) in a Prometheus text exposition, or NaN if absent. */
export function promValue(text, name) {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([-+0-9.eE]+|NaN)`, 'gm');
  let sum = NaN;
  let m;
  while ((m = re.exec(text)) !== null) sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[1]);
  return sum;
}

/** GET {opsUrl}/metrics (a gateway's, see gatewayOpsUrls) → {rss, connections} (NaN where missing), or null when unreachable. */
export function scrapeGateway(opsUrl) {
  const res = http.get(`${opsUrl}/metrics`, { tags: { name: 'gateway-metrics' }, timeout: '10s' });
  if (res.status !== 200) return null;
  const text = String(res.body);
  return {
    rss: promValue(text, 'process_resident_memory_bytes'),
    connections: promValue(text, 'chat_gateway_connections'),
  };
}
