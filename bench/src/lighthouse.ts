// Lighthouse scores of the web client (issue 19): the built app served by the
// standalone server (what `npm start` runs), in Debian's Chromium, on
// Lighthouse's default mobile profile (Moto G-class screen, 4x CPU slowdown,
// slow 4G, simulated). Two pages are scored:
//   1. the sign-in screen, cold;
//   2. a signed-in conversation holding 1,000 messages, loaded by its link
//      (`#c=<conversationId>`) with the session already signed in.
// Each navigation is run --runs times and the median score is kept; the
// verdict fails when a median performance or accessibility score is below
// --min. Lighthouse is installed apart from the workspaces (bench/lighthouse/)
// on first use: its dependency tree would otherwise change the versions the
// product packages resolve.
//   npm run build && node bench/run.mjs lighthouse
//   node bench/run.mjs lighthouse --runs 3 --messages 1000 --min 95
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { Connection, devLogin, websocketUrlOf, type SocketLike } from '@chat/client';

const { values: o } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    messages: { type: 'string', default: '1000' },
    min: { type: 'string', default: '95' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    out: { type: 'string' },
  },
});
const RUNS = Number(o.runs);
const MESSAGES = Number(o.messages);
const MIN = Number(o.min);
// A bad number would make the verdict meaningless (NaN passes every comparison's negation) or the median undefined.
for (const [flag, value, ok] of [
  ['--runs', o.runs, Number.isInteger(RUNS) && RUNS >= 1],
  ['--messages', o.messages, Number.isInteger(MESSAGES) && MESSAGES >= 1],
  ['--min', o.min, MIN >= 0 && MIN <= 100],
] as const) {
  if (!ok) {
    console.error(`${flag} must be ${flag === '--min' ? 'a score from 0 to 100' : 'a whole number of 1 or more'}, got ${value}`);
    process.exit(2);
  }
}
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const runnerDir = path.join(repo, 'bench', 'lighthouse');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

/** The subset of Lighthouse's result this script reads. */
interface LighthouseResult {
  lhr: {
    categories: Record<string, { score: number | null; auditRefs: { id: string; weight: number }[] }>;
    audits: Record<string, { numericValue?: number; score: number | null; title: string }>;
  };
}
type LighthouseFn = (url: string, flags: Record<string, unknown>, config: unknown, page: unknown) => Promise<LighthouseResult | undefined>;

/** Installs bench/lighthouse/ (its own lock) when missing and loads lighthouse and puppeteer-core from there. */
async function loadLighthouse(): Promise<{ lighthouse: LighthouseFn; puppeteer: { launch(o: object): Promise<Browser> } }> {
  if (!fs.existsSync(path.join(runnerDir, 'node_modules', 'lighthouse'))) {
    console.log('lighthouse: installing bench/lighthouse (npm ci; once)');
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: runnerDir, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci in bench/lighthouse failed');
  }
  const load = (rel: string) => import(pathToFileURL(path.join(runnerDir, 'node_modules', rel)).href);
  const lh = (await load('lighthouse/core/index.js')) as { default: LighthouseFn };
  const pp = (await load('puppeteer-core/lib/esm/puppeteer/puppeteer-core.js')) as { default: { launch(o: object): Promise<Browser> } };
  return { lighthouse: lh.default, puppeteer: pp.default };
}

interface Page {
  screenshot(o: { path: string }): Promise<unknown>;
  goto(url: string, o?: object): Promise<unknown>;
  evaluate<T>(fn: string): Promise<T>;
  waitForFunction(fn: string, o?: object): Promise<unknown>;
  close(): Promise<void>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The standalone server `npm start` runs, on a fresh data dir and a free port; sends are not rate limited so seeding is quick. */
async function startServer(): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  if (!fs.existsSync(path.join(repo, 'web', 'dist', 'index.html'))) throw new Error('web/dist is missing: run `npm run build` first');
  if (!fs.existsSync(path.join(repo, 'deploy', 'dist', 'chat.mjs'))) throw new Error('deploy/dist is missing: run `npm run build` first');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-lighthouse-'));
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(repo, 'deploy', 'bin', 'chat.mjs'), 'standalone'], {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), GRPC_PORT: 'off', RATE_LIMIT_PER_SEC: '100000', RATE_LIMIT_BURST: '100000', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`the standalone server exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the standalone server did not answer ${baseUrl}/readyz within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    baseUrl,
    stop: async () => {
      // A server that died during the run has exited already: its 'exit' came and went.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Two users and a DM of `count` messages between them; resolves with the reader's name and the conversation id. */
async function seed(baseUrl: string, count: number): Promise<{ reader: string; conversationId: string }> {
  const connect = async (name: string) => {
    const creds = await devLogin(name, baseUrl);
    const conn = new Connection({ url: websocketUrlOf(baseUrl), token: creds.token, createSocket: (url) => new WebSocket(url) as unknown as SocketLike });
    await new Promise<void>((resolve) => {
      conn.onReady(() => resolve());
      conn.start();
    });
    return { conn, creds };
  };
  const reader = await connect('Lighthouse Reader');
  const writer = await connect('Lighthouse Writer');
  const dm = await writer.conn.request('conversation.open_dm', { userId: reader.creds.user.id });
  const conversationId = dm.conversation.id;
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, k) =>
        (k % 2 === 0 ? writer : reader).conn.request('message.send', {
          conversationId,
          clientMsgId: `lh-${i + k}`,
          body: `Message ${i + k + 1}: ${SAMPLE[(i + k) % SAMPLE.length]}`,
        }),
      ),
    );
  }
  writer.conn.stop();
  reader.conn.stop();
  return { reader: 'Lighthouse Reader', conversationId };
}

const SAMPLE = [
  'Shipping the new build this afternoon, any objections?',
  'Looks good to me. Did the migration run on staging?',
  'Yes, took about four minutes, no errors in the logs.',
  'Great, I will tell the support team.',
  'Can we move the retro to Thursday? Half the team is out tomorrow.',
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<number> {
  const { lighthouse, puppeteer } = await loadLighthouse();
  const server = await startServer();
  let browser: Browser | undefined;
  try {
    const { reader, conversationId } = await seed(server.baseUrl, MESSAGES);
    browser = await puppeteer.launch({ executablePath: o.chromium, args: CHROMIUM_ARGS, headless: true });
    const pages: { name: string; url: string; signedIn: boolean }[] = [
      { name: 'sign-in screen', url: `${server.baseUrl}/`, signedIn: false },
      { name: `conversation of ${MESSAGES} messages`, url: `${server.baseUrl}/#c=${encodeURIComponent(conversationId)}`, signedIn: true },
    ];
    const rows: { name: string; performance: number; accessibility: number; lcpMs: number; tbtMs: number; cls: number }[] = [];
    for (const p of pages) {
      const perf: number[] = [];
      const a11y: number[] = [];
      const lcp: number[] = [];
      const tbt: number[] = [];
      const cls: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const page = await browser.newPage();
        if (p.signedIn) {
          // Sign in through the app itself, as a person would; the session stays for the tab's next load.
          await page.goto(`${server.baseUrl}/`);
          await page.evaluate(`(async () => {
            const input = [...document.querySelectorAll('input')].find((i) => i.labels && [...i.labels].some((l) => /your name/i.test(l.textContent || '')));
            input.value = ${JSON.stringify(reader)};
            input.dispatchEvent(new Event('input', { bubbles: true }));
            [...document.querySelectorAll('button')].find((b) => /sign in/i.test(b.textContent || '')).click();
          })()`);
          await page.waitForFunction(`document.body.innerText.includes('Online')`, { timeout: 15_000 });
        }
        const result = await lighthouse(p.url, { onlyCategories: ['performance', 'accessibility'], output: 'json', logLevel: 'error', disableStorageReset: p.signedIn }, undefined, page);
        // Scores of a page that never showed the conversation would measure the wrong thing.
        const shown = !p.signedIn || (await page.evaluate<boolean>(`document.body.innerText.includes(${JSON.stringify(`Message ${MESSAGES}:`)})`));
        if (!shown) console.error(`lighthouse: ${p.name} shows instead:\n${(await page.evaluate<string>('location.href + "\\n" + document.body.innerText')).slice(0, 600)}`);
        await page.close();
        if (!result) throw new Error(`lighthouse gave no result for ${p.name}`);
        if (!shown) throw new Error(`${p.name}: the page loaded by its link did not show the conversation's last message`);
        const { categories, audits } = result.lhr;
        perf.push(Math.round((categories['performance']?.score ?? 0) * 100));
        a11y.push(Math.round((categories['accessibility']?.score ?? 0) * 100));
        lcp.push(audits['largest-contentful-paint']?.numericValue ?? NaN);
        tbt.push(audits['total-blocking-time']?.numericValue ?? NaN);
        cls.push(audits['cumulative-layout-shift']?.numericValue ?? NaN);
        console.log(`lighthouse: ${p.name}, run ${run + 1}: performance ${perf.at(-1)}, accessibility ${a11y.at(-1)}`);
        // What cost points, so a low score says what to fix.
        for (const category of ['performance', 'accessibility']) {
          for (const ref of categories[category]?.auditRefs ?? []) {
            const audit = audits[ref.id];
            if (ref.weight > 0 && audit && audit.score !== null && audit.score < 0.9) console.log(`  ${category}: ${ref.id} (${audit.title}) scored ${audit.score}`);
          }
        }
      }
      rows.push({ name: p.name, performance: median(perf), accessibility: median(a11y), lcpMs: median(lcp), tbtMs: median(tbt), cls: median(cls) });
    }
    console.log(`\n| page (mobile, median of ${RUNS}) | performance | accessibility | LCP | TBT | CLS |\n|---|---|---|---|---|---|`);
    for (const r of rows) console.log(`| ${r.name} | ${r.performance} | ${r.accessibility} | ${(r.lcpMs / 1000).toFixed(1)} s | ${Math.round(r.tbtMs)} ms | ${r.cls.toFixed(3)} |`);
    if (o.out) fs.writeFileSync(o.out, JSON.stringify({ runs: RUNS, messages: MESSAGES, rows }, null, 2));
    const failed = rows.filter((r) => r.performance < MIN || r.accessibility < MIN);
    console.log(failed.length === 0 ? `\nverdict: PASS (every median score >= ${MIN})` : `\nverdict: FAIL (${failed.map((r) => r.name).join(', ')} below ${MIN})`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
