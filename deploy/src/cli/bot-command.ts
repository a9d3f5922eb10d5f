import { parseArgs } from 'node:util';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { type ChatStore, actorsEnvSchema, createBotAccount, openStore, revokeBotAccount } from '@chat/conversation-actors';

/**
 * `chat bot create --name <name>`, `chat bot list`, `chat bot revoke <userId>`:
 * bot accounts, managed straight in the store, configured like the actors
 * role (DATA_DIR, STORE, SQLITE_SYNC, SCYLLA_*), every variable validated
 * before the store is opened. Output is JSON Lines on stdout, one object per
 * line, nothing else, so scripts can read it:
 *
 * - create: `{"userId": "bot_…", "token": "chatbot_…"}`: the only time the
 *   token is shown (the store keeps its SHA-256 only).
 * - list: one `{"userId", "name", "createdAt", "revokedAt"}` per bot (ms since
 *   the epoch; revokedAt null while the token is valid), by id; nothing when
 *   there are no bots.
 * - revoke: `{"userId", "revokedAt"}`; revoking again prints the first
 *   revocation's time. Gateways refuse the token from their next check
 *   (edge-gateway/src/auth/bot-tokens.ts).
 */
export const BOT_USAGE = `usage: chat bot create --name <name>   create a bot user; prints {"userId", "token"}
       chat bot list                   one JSON line per bot: {"userId", "name", "createdAt", "revokedAt"}
       chat bot revoke <userId>        revoke the bot's token; prints {"userId", "revokedAt"}

configured like \`chat actors\`: DATA_DIR and SQLITE_SYNC (STORE=sqlite, the default),
or STORE=scylla with SCYLLA_CONTACT_POINTS, SCYLLA_KEYSPACE, ... (after \`chat migrate\`)`;

/** A bad command line (exit code 2, with the usage). */
export class BotUsageError extends Error {}

/** A well-formed request that could not be done, such as revoking an id that is no bot (exit code 1). */
export class BotCommandError extends Error {}

/** What one `chat bot` run asks for, parsed and checked. */
type BotCommand = { kind: 'create'; name: string } | { kind: 'list' } | { kind: 'revoke'; userId: string };

/** Parses `args` (what follows `chat bot`); throws BotUsageError. */
export function parseBotArgs(args: readonly string[]): BotCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    throw new BotUsageError(err instanceof Error ? err.message : String(err));
  }
  const [sub, ...rest] = parsed.positionals;
  if (sub === 'create') {
    const name = parsed.values.name?.trim();
    if (!name) throw new BotUsageError('chat bot create needs --name <name>');
    if (rest.length > 0) throw new BotUsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    return { kind: 'create', name };
  }
  if (parsed.values.name !== undefined) throw new BotUsageError('--name goes with chat bot create only');
  if (sub === 'list' && rest.length === 0) return { kind: 'list' };
  if (sub === 'revoke' && rest.length === 1) return { kind: 'revoke', userId: rest[0]! };
  if (sub === 'revoke') throw new BotUsageError('chat bot revoke takes one user id');
  throw new BotUsageError(sub === undefined ? 'chat bot needs a command: create, list or revoke' : `unknown bot command ${JSON.stringify(sub)}`);
}

function parse(args: readonly string[]) {
  return parseArgs({ args: [...args], options: { name: { type: 'string' } }, allowPositionals: true, strict: true });
}

/**
 * Runs one `chat bot` command against the store the environment selects,
 * writing its JSON lines with `print`. Throws BotUsageError (bad arguments),
 * ConfigError (bad variables; nothing opened), BotCommandError, or the
 * store's errors. The store is always closed before this resolves.
 */
export async function runBotCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = (line) => console.log(line),
): Promise<void> {
  const command = parseBotArgs(args);
  const config = loadEnvConfig(actorsEnvSchema, env);
  const store = await openStore(config);
  try {
    await run(store, command, print);
  } finally {
    await store.close();
  }
}

async function run(store: ChatStore, command: BotCommand, print: (line: string) => void): Promise<void> {
  switch (command.kind) {
    case 'create': {
      const { user, token } = await createBotAccount(store, command.name);
      print(JSON.stringify({ userId: user.id, token }));
      return;
    }
    case 'list':
      for (const bot of await store.listBots()) print(JSON.stringify({ userId: bot.id, name: bot.name, createdAt: bot.createdAt, revokedAt: bot.revokedAt }));
      return;
    case 'revoke': {
      const bot = await revokeBotAccount(store, command.userId);
      if (!bot) throw new BotCommandError(`no bot with user id ${JSON.stringify(command.userId)}`);
      print(JSON.stringify({ userId: bot.id, revokedAt: bot.revokedAt }));
      return;
    }
  }
}

/** The exit code for what runBotCommand threw: 2 for usage and configuration, 1 otherwise. */
export function botExitCode(err: unknown): number {
  return err instanceof BotUsageError || err instanceof ConfigError ? 2 : 1;
}
