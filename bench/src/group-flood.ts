import { parseArgs } from 'node:util';
import { Client, type Login, type Reply, devLogin } from './client.js';
import { scrape, value } from './gateway-metrics.js';
import { newHistogram, recordMs, summarize } from './stats.js';

/**
 * The abusive case of issue 12 (item 5), re-run: one session creates groups
 * of --members registered users as fast as the gateway lets it: it sends
 * --abuser-rate creates a second without waiting for replies, sends nothing
 * while a `rate_limited` reply's retryAfterMs runs, and reconnects if it is
 * closed. Meanwhile --users other users send DMs at --rate msg/s each.
 * Measures the others' send → ack latency with the abuser quiet (baseline)
 * and busy, and the server's RSS before and after (from /metrics). Exits 1
 * if the others' p99 while the abuser runs is over --p99-ms.
 *
 *   node bench/run.mjs group-flood --url http://127.0.0.1:8091 --members 999 --users 100 --rate 2 --duration 30
 */

const USAGE = `usage: node bench/run.mjs group-flood [options]
  --url URL          the gateway (default http://127.0.0.1:8080)
  --ops-url URL      its /readyz and /metrics (a cluster gateway's OPS_PORT; default --url, as standalone serves them)
  --members N        users in each group the abuser creates, besides itself (default 999)
  --users N          other users sending DMs, in pairs (default 100)
  --rate N           DMs per second per other user (default 2)
  --baseline S       seconds the others send before the abuser starts (default 5)
  --duration S       seconds the abuser runs while the others send (default 30)
  --abuser-rate N    group creates per second the abuser sends when not told to wait (default 45, the issue's case)
  --p99-ms N         exit 1 if the others' send p99 during the abuse is over this (default 50),
                     or if any of their sends failed (a send unanswered for 10 s fails, and counts at 10 s)`;

class UsageError extends Error {}

function options() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      'ops-url': { type: 'string' },
      members: { type: 'string', default: '999' },
      users: { type: 'string', default: '100' },
      rate: { type: 'string', default: '2' },
      baseline: { type: 'string', default: '5' },
      duration: { type: 'string', default: '30' },
      'p99-ms': { type: 'string', default: '50' },
      'abuser-rate': { type: 'string', default: '45' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number >= ${min} (got ${JSON.stringify(raw)})`);
    return n;
  };
  const users = num('users', values.users, 2);
  if (users % 2 !== 0) throw new UsageError('--users must be even: they send in DM pairs');
  return {
    url: values.url.replace(/\/$/, ''),
    opsUrl: (values['ops-url'] ?? values.url).replace(/\/$/, ''),
    members: num('members', values.members, 1),
    users,
    rate: num('rate', values.rate, 0.01),
    baselineMs: num('baseline', values.baseline, 0) * 1000,
    durationMs: num('duration', values.duration, 1) * 1000,
    p99Ms: num('p99-ms', values['p99-ms'], 0),
    abuserRate: num('abuser-rate', values['abuser-rate'], 0.01),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `task` over `items`, `concurrency` at a time. */
async function eachLimited<T>(items: T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await task(items[next++]!);
  }));
}

async function serverRssMb(url: string): Promise<number | null> {
  const rss = value(await scrape(url), 'process_resident_memory_bytes');
  return rss === null ? null : rss / (1024 * 1024);
}

const ignoreEvents = { onMessage: () => {}, onUnexpectedClose: () => {} };

async function main(): Promise<number> {
  const o = options();
  const ready = await fetch(`${o.opsUrl}/readyz`).then((r) => r.ok, () => false);
  if (!ready) throw new Error(`${o.opsUrl}/readyz does not answer 200: is the server running?`);
  const run = Date.now().toString(36);

  // Group members only need to exist: dev login registers them.
  const memberIds: string[] = [];
  await eachLimited(Array.from({ length: o.members }, (_, i) => i), 50, async (i) => {
    memberIds.push((await devLogin(o.url, `gf-${run}-m${i}`)).user.id);
  });

  // The others, connected in DM pairs.
  const senders: { client: Client; conversationId: string }[] = [];
  const logins: Login[] = [];
  await eachLimited(Array.from({ length: o.users }, (_, i) => i), 20, async (i) => {
    logins[i] = await devLogin(o.url, `gf-${run}-u${i}`);
  });
  await eachLimited(Array.from({ length: o.users }, (_, i) => i), 20, async (i) => {
    const { client } = await Client.connect(o.url, logins[i]!, ignoreEvents);
    const open = await client.request('conversation.open_dm', { userId: logins[i ^ 1]!.user.id });
    if (!open.ok) throw new Error(`conversation.open_dm: ${JSON.stringify(open.error)}`);
    senders[i] = { client, conversationId: (open.conversation as { id: string }).id };
  });
  const rssBefore = await serverRssMb(o.opsUrl);

  let phase: 'baseline' | 'abuse' | 'done' = 'baseline';
  const acks = { baseline: newHistogram(), abuse: newHistogram() };
  const sendErrors = new Map<string, number>();
  let nextMsg = 0;
  const intervalMs = 1000 / o.rate;
  const senderTimers = senders.map(({ client, conversationId }, i) =>
    setTimeout(function tick() {
      if (phase === 'done') return;
      const during = phase;
      client.send('message.send', { conversationId, clientMsgId: `c${++nextMsg}`, body: 'hello' }, (reply, ms) => {
        // A send unanswered for 10 s counts at that age too, so a stalled server cannot look fast.
        if (reply.ok || reply.error?.code === 'timeout') recordMs(acks[during], ms);
        if (!reply.ok) sendErrors.set(reply.error?.code ?? '?', (sendErrors.get(reply.error?.code ?? '?') ?? 0) + 1);
      });
      senderTimers[i] = setTimeout(tick, intervalMs);
    }, (intervalMs * i) / senders.length),
  );
  const expiry = setInterval(() => senders.forEach((s) => s.client.expire(10_000)), 1000);

  await sleep(o.baselineMs);
  // RSS is sampled all along: a server that is swamped may not answer /metrics at the end.
  let rssPeak = rssBefore;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rss = await serverRssMb(o.opsUrl);
      if (rss !== null && (rssPeak === null || rss > rssPeak)) rssPeak = rss;
      await sleep(1000);
    }
  })();
  phase = 'abuse';
  const abuseStart = performance.now();
  const abuser = await devLogin(o.url, `gf-${run}-abuser`);
  const tally = { created: 0, limited: 0, closed: 0, connections: 0, failed: new Map<string, number>() };
  const count = (why: string) => tally.failed.set(why, (tally.failed.get(why) ?? 0) + 1);
  let pausedUntil = 0;
  let waitedMs = 0;
  const abuseEnd = abuseStart + o.durationMs;
  while (performance.now() < abuseEnd) {
    let client: Client;
    try {
      ({ client } = await Client.connect(o.url, abuser, ignoreEvents));
    } catch (err) {
      // Refused at the upgrade (e.g. 429) or closed before hello: wait a little, as a client would.
      count(err instanceof Error ? err.message : String(err));
      await sleep(1000);
      continue;
    }
    tally.connections++;
    // Creates at --abuser-rate without waiting for replies, pausing as long as each rate_limited says.
    const started = performance.now();
    let sent = 0;
    while (client.open && performance.now() < abuseEnd) {
      const now = performance.now();
      if (now < pausedUntil) {
        await sleep(Math.min(pausedUntil, abuseEnd) - now);
        continue;
      }
      const due = Math.floor(((now - started) * o.abuserRate) / 1000) + 1;
      if (sent >= due) {
        await sleep(1000 / o.abuserRate);
        continue;
      }
      sent = due;
      client.send('conversation.create_group', { title: `flood ${sent}`, members: memberIds }, (reply: Reply) => {
        if (reply.ok) tally.created++;
        else if (reply.error?.code === 'rate_limited') {
          tally.limited++;
          const until = performance.now() + (reply.error.retryAfterMs ?? 1000);
          if (until > pausedUntil) {
            waitedMs += until - Math.max(pausedUntil, performance.now());
            pausedUntil = until;
          }
        } else if (reply.error?.code === 'disconnected' || reply.error?.code === 'offline') {
          if (performance.now() < abuseEnd) tally.closed++; // not the ones our own close at the end cuts off
        } else count(reply.error?.code ?? '?');
      });
    }
    client.close();
  }
  const abuseSeconds = (performance.now() - abuseStart) / 1000;
  phase = 'done';
  senderTimers.forEach((t) => clearTimeout(t));
  // Let the last replies in before reading the figures.
  await sleep(2000);
  clearInterval(expiry);
  sampling = false;
  await sampler;
  const rssAfter = await serverRssMb(o.opsUrl);
  senders.forEach((s) => s.client.close());

  const base = summarize(acks.baseline);
  const abuse = summarize(acks.abuse);
  const mb = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} MB`);
  const line = (s: ReturnType<typeof summarize>) =>
    `p50 ${s.p50.toFixed(1)}  p90 ${s.p90.toFixed(1)}  p99 ${s.p99.toFixed(1)}  max ${s.max.toFixed(1)} ms  (n=${s.count})`;
  console.log(`group-flood against ${o.url}: ${o.users} users sending ${o.rate} DM/s each; one session creating ${o.members + 1}-member groups`);
  console.log(`  abuser: ${tally.created} groups created in ${abuseSeconds.toFixed(1)} s (${(tally.created / abuseSeconds).toFixed(2)}/s), ` +
    `${tally.limited} rate_limited (${(waitedMs / 1000).toFixed(1)} s waited), ${tally.closed} lost to a closed socket, ${tally.connections} connection(s)` +
    (tally.failed.size ? `, other: ${JSON.stringify(Object.fromEntries(tally.failed))}` : ''));
  console.log(`  others' send→ack, baseline:    ${line(base)}`);
  console.log(`  others' send→ack, under abuse: ${line(abuse)}`);
  if (sendErrors.size) console.log(`  others' failed sends: ${JSON.stringify(Object.fromEntries(sendErrors))}`);
  const unanswered = rssBefore === null || rssPeak === null || rssAfter === null ? ' (n/a: /metrics did not answer within 5 s)' : '';
  console.log(`  server RSS: ${mb(rssBefore)} before, ${mb(rssPeak)} at most during, ${mb(rssAfter)} after${unanswered}`);
  const failed = !(abuse.p99 <= o.p99Ms) || sendErrors.size > 0;
  console.log(failed ? `FAIL: others' p99 ${abuse.p99.toFixed(1)} ms over ${o.p99Ms} ms, or sends failed` : `OK: others' p99 ${abuse.p99.toFixed(1)} ms within ${o.p99Ms} ms`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      if (err.message) console.error(`error: ${err.message}\n`);
      console.error(USAGE);
      process.exit(err.message ? 2 : 0);
    }
    console.error(`group-flood failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
