import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError, botTokenHash, isWellFormedBotToken } from '@chat/platform';
import { openScyllaStore, openSqliteStore } from '@chat/conversation-actors';
import { dropLiveKeyspace, liveCql, liveKeyspace, migrateLiveKeyspace } from '@chat/testkit/live-cql';
import { chatBin } from '../paths.js';
import { BotCommandError, BotUsageError, botExitCode, parseBotArgs, runBotCommand } from './bot-command.js';

const run = promisify(execFile);

/** Runs `chat bot ...args` in-process; resolves with the JSON objects it printed, one per line. */
async function bot(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  await runBotCommand(args, env, (line) => lines.push(line));
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('chat bot: arguments', () => {
  it('parses create, list and revoke', () => {
    expect(parseBotArgs(['create', '--name', ' Summarizer '])).toEqual({ kind: 'create', name: 'Summarizer' });
    expect(parseBotArgs(['create', '--name=Two words'])).toEqual({ kind: 'create', name: 'Two words' });
    expect(parseBotArgs(['list'])).toEqual({ kind: 'list' });
    expect(parseBotArgs(['revoke', 'bot_1'])).toEqual({ kind: 'revoke', userId: 'bot_1' });
  });

  it('refuses anything else with a usage error (exit code 2)', () => {
    for (const args of [[], ['create'], ['create', '--name', '  '], ['create', '--name', 'a', 'extra'], ['list', 'x'], ['list', '--name', 'a'], ['revoke'], ['revoke', 'a', 'b'], ['delete'], ['create', '--nme', 'a']]) {
      expect(() => parseBotArgs(args), args.join(' ')).toThrow(BotUsageError);
    }
    expect(botExitCode(new BotUsageError('x'))).toBe(2);
    expect(botExitCode(new ConfigError(['X: bad']))).toBe(2);
    expect(botExitCode(new BotCommandError('x'))).toBe(1);
  });
});

describe('chat bot on SQLite (DATA_DIR)', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => (dir = mkdtempSync(join(tmpdir(), 'chat-bot-cli-')));

  it('creates, lists and revokes; a revoked token is refused by the store', async () => {
    const env = { DATA_DIR: fresh() };
    const [created] = await bot(env, 'create', '--name', 'Summarizer');
    expect(Object.keys(created!)).toEqual(['userId', 'token']);
    const { userId, token } = created as { userId: string; token: string };
    expect(isWellFormedBotToken(token)).toBe(true);
    const [other] = await bot(env, 'create', '--name', 'Other');

    const listed = await bot(env, 'list');
    expect(listed).toHaveLength(2);
    expect(listed.find((b) => b['userId'] === userId)).toEqual({ userId, name: 'Summarizer', createdAt: expect.any(Number), revokedAt: null });

    const [revoked] = await bot(env, 'revoke', userId);
    expect(revoked).toEqual({ userId, revokedAt: expect.any(Number) });
    // Idempotent: the first revocation's time.
    expect(await bot(env, 'revoke', userId)).toEqual([revoked]);
    await expect(bot(env, 'revoke', 'bot_nosuchbot')).rejects.toBeInstanceOf(BotCommandError);
    expect((await bot(env, 'list')).find((b) => b['userId'] === userId)?.['revokedAt']).toBe(revoked!['revokedAt']);

    const store = openSqliteStore({ dataDir: dir });
    try {
      expect(await store.botByTokenHash(botTokenHash(token))).toBeNull();
      expect(await store.botByTokenHash(botTokenHash(other!['token'] as string))).toEqual({ id: other!['userId'], name: 'Other', bot: true });
    } finally {
      await store.close();
    }
  });

  it('validates every variable before opening the store', async () => {
    const dataDir = join(fresh(), 'not-yet');
    await expect(bot({ DATA_DIR: dataDir, STORE: 'mysql' }, 'list')).rejects.toBeInstanceOf(ConfigError);
    await expect(bot({ DATA_DIR: dataDir, SQLITE_SYNC: 'sometimes' }, 'list')).rejects.toBeInstanceOf(ConfigError);
    await expect(bot({ DATA_DIR: dataDir, STORE: 'scylla' }, 'list')).rejects.toBeInstanceOf(ConfigError);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('as the chat command: exactly one JSON line on stdout for create, exit code 2 for bad usage', async () => {
    const env = { ...process.env, DATA_DIR: fresh(), LOG_LEVEL: 'info' };
    const created = await run(process.execPath, [chatBin(), 'bot', 'create', '--name', 'Summarizer'], { env });
    const lines = created.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(Object.keys(JSON.parse(lines[0]!) as object)).toEqual(['userId', 'token']);
    expect(created.stderr).toBe('');

    const usage = await run(process.execPath, [chatBin(), 'bot', 'create'], { env }).then(
      () => 0,
      (err: { code: number; stderr: string }) => (expect(err.stderr).toMatch(/--name/), err.code),
    );
    expect(usage).toBe(2);
  });
});

const live = liveCql('chat bot on a live CQL server');

describe.skipIf(!live)(`chat bot on a live CQL server (${live?.server ?? 'none'})`, () => {
  const keyspace = liveKeyspace('chat_bot_cli');
  afterAll(async () => {
    if (live) await dropLiveKeyspace(live, keyspace);
  });

  it('creates, lists and revokes with STORE=scylla', async () => {
    const options = await migrateLiveKeyspace(live!, keyspace);
    const env = { ...process.env, STORE: 'scylla', SCYLLA_CONTACT_POINTS: live!.contactPoints, SCYLLA_LOCAL_DC: live!.localDataCenter, SCYLLA_KEYSPACE: keyspace };
    const [created] = await bot(env, 'create', '--name', 'Summarizer');
    const { userId, token } = created as { userId: string; token: string };
    expect((await bot(env, 'list')).map((b) => [b['userId'], b['name'], b['revokedAt']])).toEqual([[userId, 'Summarizer', null]]);
    const store = await openScyllaStore(options);
    try {
      expect(await store.botByTokenHash(botTokenHash(token))).toEqual({ id: userId, name: 'Summarizer', bot: true });
      await bot(env, 'revoke', userId);
      expect(await store.botByTokenHash(botTokenHash(token))).toBeNull();
    } finally {
      await store.close();
    }
  });
});
