// Custom metrics shared by the k6 chat scenarios, and the helpers that feed them.
// Metric objects must be created in the init context: importing this module does that.
import { Counter, Rate, Trend } from 'k6/metrics';
import { bodySentAt, connect, login, stampBody, warnSome } from './chat.js';

/** Socket created → hello frame received (ms). */
export const connectTime = new Trend('chat_connect_time', true);
/** Per connection attempt: 1 when login, upgrade or hello failed. */
export const connectFailed = new Rate('chat_connect_failed');
/** Failed connection attempts, tagged reason (login, error, hello_timeout, closed_before_hello). */
export const connectFailures = new Counter('chat_connect_failures');
/** Sockets the server (or network) closed before the script did, tagged code. */
export const connectionDrops = new Counter('chat_connection_drops');
/** A message's body timestamp (sender's Date.now()) → message.new received by another member (ms). */
export const deliveryLatency = new Trend('chat_delivery_latency', true);
/** message.send written → its ok reply (ms). */
export const ackLatency = new Trend('chat_ack_latency', true);
export const sent = new Counter('chat_messages_sent');
/** message.new events from other senders received (the sender's own echo is not counted). */
export const received = new Counter('chat_messages_received');
/** message.new events whose (conversationId, seq) this session had already seen. */
export const duplicates = new Counter('chat_messages_duplicate');
/** Seqs a session never saw: a jump from seq n to n+k counts k-1 (messages lost to this session). */
export const seqGaps = new Counter('chat_seq_gaps');
/** Error replies, tagged op and code (server codes, or timeout/closed from the client side). */
export const errors = new Counter('chat_errors');
/** Per request: 1 when the reply was an error. */
export const errorRate = new Rate('chat_error_rate');
/** Sessions that were not ready (connected, conversation open) when sending started. */
export const lateSessions = new Counter('chat_late_sessions');

/**
 * The `window` tag of a sample: 'warmup' for a message sent (or a connection
 * started) before `measureFrom`, else 'measured'. The latency thresholds
 * select {window:measured}, so the warm-up is in no verdict; a message is
 * judged by when it was sent, wherever its delivery falls.
 */
export function windowTag(t, measureFrom) {
  return t < measureFrom ? 'warmup' : 'measured';
}

export const ERROR_CODES = ['rate_limited', 'unavailable', 'internal', 'forbidden', 'not_found', 'bad_request', 'timeout', 'closed'];

/**
 * Always-passing thresholds on chat_errors{code:...}: they make k6 print the
 * error count per code in the end-of-test summary.
 */
export function errorCodeThresholds() {
  const t = {};
  for (const code of ERROR_CODES) t[`chat_errors{code:${code}}`] = ['count>=0'];
  return t;
}

export function recordConnect(result, tags) {
  connectFailed.add(!result.ok, tags);
  if (result.ok) connectTime.add(result.connectMs, tags);
  else {
    connectFailures.add(1, Object.assign({ reason: result.reason }, tags));
    warnSome(`connect failed (${result.reason}): ${result.error}`);
  }
}

/** Counts a server-side close of `session` as a drop. */
export function watchDrops(session, tags) {
  session.onClose = (code) => {
    if (!session.closing) connectionDrops.add(1, Object.assign({ code: String(code) }, tags));
  };
}

/** A failed dev login: counted as a failed connection attempt. */
export function recordLoginFailure(auth, tags) {
  connectFailed.add(true, tags);
  connectFailures.add(1, Object.assign({ reason: 'login' }, tags));
  warnSome(auth.error);
}

/** Records a reply's outcome; returns whether it was ok. */
export function recordReply(op, reply, tags) {
  const ok = reply.ok === true;
  errorRate.add(!ok, Object.assign({ op }, tags));
  if (!ok) {
    const code = (reply.error && reply.error.code) || 'unknown';
    errors.add(1, Object.assign({ op, code }, tags));
    warnSome(`${op}: ${code}: ${reply.error && reply.error.message}`);
  }
  return ok;
}

/**
 * message.send with a timestamped body; records sent, ack latency and errors.
 * `tags` may be a function of the send time, so that the sender tags a
 * message exactly as its receivers will (by the timestamp in the body).
 */
export function sendStamped(session, conversationId, clientMsgId, bodySize, tagsOrFn) {
  const t = Date.now();
  const tags = typeof tagsOrFn === 'function' ? tagsOrFn(t) : tagsOrFn;
  sent.add(1, tags);
  return session.request('message.send', { conversationId, clientMsgId, body: stampBody(t, bodySize) }).then((reply) => {
    if (recordReply('message.send', reply, tags)) ackLatency.add(Date.now() - t, tags);
    return reply;
  });
}

/**
 * Per-session message.new bookkeeping: dedupe and gap detection by
 * (conversationId, seq), delivery latency of other members' messages.
 * tagsFor(sentAt) returns the tags for one sample (optional).
 */
export class Receiver {
  constructor(selfId, tagsFor) {
    this.selfId = selfId;
    this.tagsFor = tagsFor || (() => undefined);
    this.lastSeq = new Map();
  }

  /** The last seq already in a conversation when this session joined (e.g. lastSeq from open_dm). */
  expect(conversationId, lastSeq) {
    if (!this.lastSeq.has(conversationId)) this.lastSeq.set(conversationId, lastSeq || 0);
  }

  onEvent(f) {
    if (f.ev !== 'message.new' || !f.message) return;
    const now = Date.now();
    const m = f.message;
    const prev = this.lastSeq.has(m.conversationId) ? this.lastSeq.get(m.conversationId) : 0;
    if (m.seq <= prev) {
      duplicates.add(1);
      return;
    }
    if (m.seq > prev + 1) seqGaps.add(m.seq - prev - 1);
    this.lastSeq.set(m.conversationId, m.seq);
    if (m.senderId === this.selfId) return;
    const sentAt = bodySentAt(m.body);
    if (Number.isNaN(sentAt)) return;
    const tags = this.tagsFor(sentAt);
    deliveryLatency.add(now - sentAt, tags);
    received.add(1, tags);
  }
}

/**
 * Logs `name` in on `gateway`, connects, and records both (failures, connect
 * time, later drops) under `tags`. Resolves with the open session, or null if
 * either step failed (already recorded).
 */
export async function joinAs(gateway, name, tags) {
  const auth = await login(gateway, name);
  if (!auth.ok) {
    recordLoginFailure(auth, tags);
    return null;
  }
  const c = await connect(gateway, auth.token, { tags });
  recordConnect(c, tags);
  if (!c.ok) return null;
  watchDrops(c.session, tags);
  return { session: c.session, user: auth.user };
}
