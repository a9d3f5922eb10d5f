import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry, loadEnvConfig, newBotToken, silentLogger } from '@chat/platform';
import { BackendClient, BackendUnavailableError, BotTokenVerifier, DEFAULT_RETRY_POLICY, type Gateway, GatewayMetrics, UnauthorizedError } from '@chat/edge-gateway';
import { BUS_PAIRS, type BusPair } from '@chat/testkit/bus-pairs';
import { ChatClient } from '@chat/testkit/chat-client';
import { tempDir } from '@chat/testkit/system-under-test';
import { StaticOwnership } from '@chat/conversation-actors';
import { runBotCommand } from '../cli/bot-command.js';
import { type ActorsRole, startActorsRole } from './actors-role.js';
import { startGatewayRole } from './gateway-role.js';
import { standaloneEnvSchema } from './standalone.js';

// The gateway's bot-token verifier against the real actors role (query
// service, SQLite store in DATA_DIR), with bots made and revoked by the
// `chat bot` command on the same DATA_DIR, as an operator would, while it runs.

const RECHECK_MS = 200;

describe.each(BUS_PAIRS)('bot tokens verified over the %s', (_name, connect) => {
  const dir = tempDir('chat-bot-tokens-');
  const env = { DATA_DIR: dir.path };
  let buses: BusPair;
  let actors: ActorsRole | undefined;
  let gateway: Gateway;
  let verifier: BotTokenVerifier;

  /** `chat bot ...` on the running system's DATA_DIR; the JSON it printed. */
  async function bot(...args: string[]): Promise<Record<string, unknown>> {
    const lines: string[] = [];
    await runBotCommand(args, env, (line) => lines.push(line));
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!) as Record<string, unknown>;
  }

  beforeAll(async () => {
    const config = loadEnvConfig(standaloneEnvSchema, { PORT: '0', DATA_DIR: dir.path, JWT_SECRET: 'bot-tokens-test-secret-0123456789abcdef', SHARDS: '4' });
    const registry = createMetricsRegistry('test');
    buses = await connect();
    actors = await startActorsRole({ bus: buses.actors, config, ownership: () => new StaticOwnership(4), registry, logger: silentLogger() });
    gateway = await startGatewayRole({ bus: buses.gateway, config, secret: config.JWT_SECRET!, registry, logger: silentLogger(), serveWeb: false });
    const backend = new BackendClient(buses.gateway, 4, 1000, DEFAULT_RETRY_POLICY, new GatewayMetrics(createMetricsRegistry('test')));
    verifier = new BotTokenVerifier(backend, silentLogger(), { budgetMs: 500, recheckMs: RECHECK_MS });
  });
  afterAll(async () => {
    await gateway.stop();
    await actors?.stop();
    await buses.close();
    dir.remove();
  });

  it('accepts a created bot’s token, refuses it on the very next call once revoked, and ends its watch', async () => {
    const { userId, token } = (await bot('create', '--name', 'Summarizer')) as { userId: string; token: string };
    const other = (await bot('create', '--name', 'Other')) as { userId: string; token: string };
    expect(await verifier.verify(token)).toEqual({ id: userId, name: 'Summarizer', expiresAt: undefined, bot: true });

    let revokedAt = 0;
    let reason: UnauthorizedError | undefined;
    const watch = verifier.watch(token, (err) => {
      revokedAt = performance.now();
      reason = err;
    });
    const otherRevoked: unknown[] = [];
    const otherWatch = verifier.watch(other.token, (err) => otherRevoked.push(err));
    // A few checks pass while the token is valid.
    await new Promise((r) => setTimeout(r, RECHECK_MS * 2.5));
    expect(reason).toBeUndefined();

    await bot('revoke', userId);
    const revokeDone = performance.now();
    // No cache: the very next verification is refused.
    await expect(verifier.verify(token)).rejects.toThrow(new UnauthorizedError('bot token unknown or revoked'));
    // The watch fires at its next check: one recheck interval plus a query (generous slack for a loaded machine).
    await expect.poll(() => reason, { timeout: RECHECK_MS + 2000, interval: 20 }).toBeInstanceOf(UnauthorizedError);
    expect(revokedAt - revokeDone).toBeLessThan(RECHECK_MS + 2000);
    watch.stop();
    // The other bot is untouched.
    expect(await verifier.verify(other.token)).toMatchObject({ id: other.userId, bot: true });
    expect(otherRevoked).toEqual([]);
    otherWatch.stop();
  });

  it('refuses a well-formed token nobody issued with UnauthorizedError', async () => {
    await expect(verifier.verify(newBotToken())).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('shows bots in user.search with bot: true, people without it', async () => {
    const { userId } = (await bot('create', '--name', 'Searchable Bot')) as { userId: string };
    const alice = await ChatClient.login(`http://127.0.0.1:${gateway.port}`, 'Searcher Alice');
    try {
      const { users } = await alice.call<{ users: Record<string, unknown>[] }>('user.search', { prefix: 'searc', limit: 10 });
      expect(users).toEqual([
        { id: userId, name: 'Searchable Bot', bot: true },
        { id: 'searcher-alice', name: 'Searcher Alice' },
      ]);
    } finally {
      await alice.close();
    }
  });

  it('rejects with unavailable, not unauthorized, while no query service answers; a watch survives it', async () => {
    const { token } = (await bot('create', '--name', 'Patient')) as { token: string };
    const revoked: unknown[] = [];
    const watch = verifier.watch(token, (err) => revoked.push(err));
    await actors!.stop();
    actors = undefined;
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(BackendUnavailableError);
    await new Promise((r) => setTimeout(r, RECHECK_MS * 3));
    expect(revoked).toEqual([]);
    watch.stop();
  });
});
