import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SummarizerBot } from './bot.js';

/**
 * `npm run bot`: the summarizer against a running `npm start`. Settings:
 *   CHAT_GRPC_TARGET  the gateway's gRPC API (default 127.0.0.1:9090)
 *   BOT_TOKEN         the bot's token; without it one is minted once with
 *                     `chat bot create` in DATA_DIR (default ./data, the
 *                     standalone default) and kept in DATA_DIR/summarizer-bot.json
 *   LLM_BASE_URL      an OpenAI-compatible endpoint (…/v1/chat/completions is
 *                     appended); unset: extractive summaries, no model needed
 *   LLM_MODEL, LLM_API_KEY
 */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function fail(message: string): never {
  console.error(`summarizer: ${message}`);
  process.exit(2);
}

function tokenFromDataDir(): string {
  const dataDir = resolve(process.env.DATA_DIR ?? join(repoRoot, 'data'));
  const saved = join(dataDir, 'summarizer-bot.json');
  if (existsSync(saved)) {
    try {
      const { token } = JSON.parse(readFileSync(saved, 'utf8')) as { token?: unknown };
      if (typeof token === 'string' && token.length > 0) return token;
    } catch {
      // reported below
    }
    fail(`${saved} holds no token; delete it to mint a new bot, or set BOT_TOKEN`);
  }
  const chat = join(repoRoot, 'deploy/bin/chat.mjs');
  if (!existsSync(join(repoRoot, 'deploy/dist/chat.mjs'))) fail('build first (npm run build, or npm start), or set BOT_TOKEN');
  const out = spawnSync(process.execPath, [chat, 'bot', 'create', '--name', 'Summarizer'], { env: { ...process.env, DATA_DIR: dataDir }, encoding: 'utf8' });
  if (out.status !== 0) fail(`chat bot create failed: ${out.stderr || out.stdout}`);
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  const created = JSON.parse(line) as { userId: string; token: string };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(saved, JSON.stringify(created), { mode: 0o600 });
  console.log(`summarizer: created bot user ${created.userId} (token kept in ${saved})`);
  return created.token;
}

const llmBase = process.env.LLM_BASE_URL;
if (llmBase !== undefined && !/^https?:\/\//.test(llmBase)) fail(`LLM_BASE_URL must be an http(s) URL, got ${JSON.stringify(llmBase)}`);
const bot = new SummarizerBot({
  target: process.env.CHAT_GRPC_TARGET ?? '127.0.0.1:9090',
  token: process.env.BOT_TOKEN ?? tokenFromDataDir(),
  log: (line) => console.log(line),
  llm: llmBase ? { baseUrl: llmBase, model: process.env.LLM_MODEL ?? 'gpt-4o-mini', apiKey: process.env.LLM_API_KEY } : undefined,
});
bot.start();
console.log(`summarizer: watching ${process.env.CHAT_GRPC_TARGET ?? '127.0.0.1:9090'}; add it to a conversation and send /summarize [n]`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void bot.stop().then(() => process.exit(0)));
