import { sleep } from '../coordinator.js';
import { memoryPerConnection, processDeltas } from '../gateway-metrics.js';
import { Measurement } from '../measurement.js';
import type { Context, Outcome } from '../scenario.js';

/**
 * Ramp to --connections sockets at --ramp-rate a second, hold them --hold
 * seconds. Connect time (upgrade request → hello), failures, and what each
 * connection costs the gateways in resident memory and CPU. With --warmup
 * (default 0) the sockets opened in the first seconds of the ramp are not in
 * the figures (their failures still count).
 */
export async function connections(ctx: Context): Promise<Outcome> {
  const { opts, coord } = ctx;
  const n = opts.connections;
  ctx.note(`logging in ${n} users (${opts.loginConcurrency} at a time)`);
  const tLogin = performance.now();
  const login = await coord.login(ctx.users(n), opts.loginConcurrency);
  const loginSeconds = (performance.now() - tLogin) / 1000;
  ctx.note(`logged in (${loginSeconds.toFixed(1)} s, ${(n / loginSeconds).toFixed(0)}/s)`);
  if (login.failed) ctx.note(`${login.failed} logins failed, first: ${login.firstError}`);
  // Without a warm-up the baseline (memory, CPU) is taken before the first socket opens.
  const m = await Measurement.start(ctx, opts.warmup);
  if (opts.warmup === 0) await m.begin('connect');
  ctx.note(`ramping to ${n - login.failed} connections at ${opts.rampRate}/s${opts.warmup > 0 ? `; the first ${opts.warmup} s are warm-up` : ''}`);
  const t0 = performance.now();
  const connecting = coord.connect(opts.rampRate);
  if (opts.warmup > 0) await m.begin('connect');
  const conn = await connecting;
  const rampSeconds = (performance.now() - t0) / 1000;
  if (conn.failed) ctx.note(`${conn.failed} connections failed, first: ${conn.firstError}`);
  if (conn.retried) ctx.note(`${conn.retried} connections retried after closing before hello (first: ${conn.firstRetry})`);
  coord.phase = 'hold';
  ctx.note(`${conn.ids.size} connected in ${rampSeconds.toFixed(1)} s; holding ${opts.hold} s`);
  await sleep(opts.hold * 1000);
  await coord.poll();
  const openAtEnd = coord.open;
  await m.end();
  const measured = m.window;
  const processes = processDeltas(m.before, m.after);
  const perConnection = memoryPerConnection(processes);
  const mib = (b: number | null) => (b === null ? '-' : `${(b / 1048576).toFixed(1)} MiB`);
  const lines = [
    `connections      ${conn.ids.size} of ${n} connected, ${login.failed} logins and ${conn.failed} connects failed, ${openAtEnd} open at the end of the hold`,
    `ramp             ${rampSeconds.toFixed(1)} s, ${(conn.ids.size / rampSeconds).toFixed(0)} connections/s achieved (asked ${opts.rampRate}/s)`,
    `memory/conn      ${perConnection === null ? '-' : `${(perConnection / 1024).toFixed(1)} KiB`} (gateway RSS growth / connections added, after the warm-up)`,
    ...processes.map(
      (p) =>
        `  ${p.url.padEnd(26)} rss ${mib(p.rssBefore)} → ${mib(p.rssAfter)}, connections ${p.connectionsBefore ?? '-'} → ${p.connectionsAfter ?? '-'}` +
        (p.error ? `  (${p.error})` : ''),
    ),
  ];
  return {
    parameters: { connections: n, rampRate: opts.rampRate, hold: opts.hold, warmup: opts.warmup, gateways: opts.urls.length, workers: opts.workers },
    measured,
    measuredSeconds: m.seconds(),
    lost: 0,
    unanswered: 0,
    warmup: m.warmup(0, 0),
    cpu: m.cpu('connection'),
    target: 'connect p99',
    before: m.before,
    after: m.after,
    lines,
    data: {
      connected: conn.ids.size,
      loginFailed: login.failed,
      connectFailed: conn.failed,
      firstError: login.firstError ?? conn.firstError,
      openAtEndOfHold: openAtEnd,
      rampSeconds,
      memoryPerConnectionBytes: perConnection,
      processes,
    },
    chart: {
      title: `connections: connect time per second (${n} sockets at ${opts.rampRate}/s)`,
      of: 'connect',
      markers: opts.warmup > 0 ? [{ x: m.beganAtElapsed, label: 'warm-up ends' }] : [],
    },
    failure: conn.ids.size === 0 ? `no connection succeeded: ${login.firstError ?? conn.firstError}` : undefined,
  };
}
