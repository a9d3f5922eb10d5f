import type { User } from '@chat/proto';
import { ConflictError } from '../../errors.js';
import type { BotRecord, NewBot } from '../store.js';
import { type ScyllaSession, mapLimit, num, stmt } from './scylla-session.js';
import { FAN_OUT } from './scylla-reads.js';
import { searchPartition } from './scylla-users.js';

// Bot accounts in ScyllaDB (migration 0002): the bots partition and the
// bot_tokens table. A user is a bot when it has a bots row; users and its
// search tables hold a bot like any user.

/** The one partition of the bots table. */
export const BOTS_SCOPE = 'bots';

/** At most this many ids per IN read of the bots partition. */
const IN_CHUNK = 100;

/**
 * Writes the bot's user row, its two search rows, its bots row and its token
 * row in one logged batch: all of them or, until the batch log has it, none.
 * The id is checked first with a point read, not a lightweight transaction:
 * ids are random (createBotAccount), so the check only refuses reusing a
 * person's id by mistake; two creates of one id at once are not expected.
 */
export async function createBot(s: ScyllaSession, bot: NewBot): Promise<void> {
  if (await s.row('getUser', [bot.id])) throw new ConflictError(`createBot: ${bot.id} is already a user`);
  const nameLower = bot.name.toLowerCase();
  const idLower = bot.id.toLowerCase();
  await s.loggedBatch([
    stmt('putUser', [bot.id, bot.name]),
    stmt('putUserById', [searchPartition(idLower), idLower, bot.id, bot.name, nameLower]),
    stmt('putUserByName', [searchPartition(nameLower), nameLower, bot.name, bot.id]),
    stmt('putBot', [BOTS_SCOPE, bot.id, bot.tokenHash, bot.createdAt]),
    stmt('putBotToken', [bot.tokenHash, bot.id]),
  ]);
}

/** Every bot, by id: one partition read, then a point read of each bot's user row for its name. */
export async function listBots(s: ScyllaSession): Promise<BotRecord[]> {
  const rows = await s.allRows('listBots', [BOTS_SCOPE]);
  return mapLimit(rows, FAN_OUT, async (r) => botRecord(r, await userName(s, r['id'] as string)));
}

/**
 * Revokes in one logged batch: revoked_at set and the hash nulled in the bots
 * row, the bot_tokens row deleted. A bot revoked already is left as it is.
 */
export async function revokeBot(s: ScyllaSession, id: string, revokedAt: number): Promise<BotRecord | null> {
  const row = await s.row('getBot', [BOTS_SCOPE, id]);
  if (!row) return null;
  const name = await userName(s, id);
  if (row['revoked_at'] !== null && row['revoked_at'] !== undefined) return botRecord(row, name);
  const hash = row['token_hash'] as string | null;
  await s.loggedBatch([
    stmt('revokeBot', [revokedAt, BOTS_SCOPE, id]),
    ...(hash ? [stmt('dropBotToken', [hash])] : []),
  ]);
  return { id, name, createdAt: num(row['created_at']), revokedAt };
}

/**
 * The live bot of a token hash: the bot_tokens row, then the bots row and the
 * user row side by side. Both the token row and the bots row must say the
 * token is live, so a reader that sees either half of a revoking batch
 * already refuses the token.
 */
export async function botByTokenHash(s: ScyllaSession, tokenHash: string): Promise<User | null> {
  const token = await s.row('getBotToken', [tokenHash]);
  if (!token) return null;
  const id = token['user_id'] as string;
  const [bot, user] = await Promise.all([s.row('getBot', [BOTS_SCOPE, id]), s.row('getUser', [id])]);
  if (!bot || !user || (bot['revoked_at'] !== null && bot['revoked_at'] !== undefined) || bot['token_hash'] !== tokenHash) return null;
  return { id, name: user['name'] as string, bot: true };
}

/** `users` with `bot: true` set on the bots among them: one IN read of the bots partition per 100 distinct ids. */
export async function markBots(s: ScyllaSession, users: User[]): Promise<User[]> {
  const ids = [...new Set(users.map((u) => u.id))];
  if (ids.length === 0) return users;
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += IN_CHUNK) chunks.push(ids.slice(i, i + IN_CHUNK));
  const found = await mapLimit(chunks, FAN_OUT, (chunk) => s.rows('botsAmong', [BOTS_SCOPE, chunk]));
  const bots = new Set(found.flat().map((r) => r['id'] as string));
  return users.map((u) => (bots.has(u.id) ? { ...u, bot: true } : u));
}

async function userName(s: ScyllaSession, id: string): Promise<string> {
  const user = await s.row('getUser', [id]);
  // A bots row without its user row cannot come from createBot's batch; show the id rather than fail the listing.
  return user ? (user['name'] as string) : id;
}

function botRecord(row: Record<string, unknown>, name: string): BotRecord {
  const revoked = row['revoked_at'];
  return { id: row['id'] as string, name, createdAt: num(row['created_at']), revokedAt: revoked === null || revoked === undefined ? null : num(revoked) };
}
