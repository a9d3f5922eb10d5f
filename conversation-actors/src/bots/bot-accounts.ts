import { randomBytes } from 'node:crypto';
import { BOT_ID_PREFIX, type User } from '@chat/proto';
import { botTokenHash, newBotToken } from '@chat/platform';
import type { BotRecord, ChatStore } from '../store/store.js';

// Bot ids are BOT_ID_PREFIX (proto's, reserved: dev login refuses names that would map into it) plus random hex.
export { BOT_ID_PREFIX };

/** What createBotAccount hands back: the only time the token exists outside the caller's hands. */
export interface CreatedBot {
  user: User;
  /** The bearer token; the store keeps only its SHA-256, so it cannot be shown again. */
  token: string;
}

/**
 * Creates a bot account: a new user id (`bot_` and 16 random hex digits: no
 * `-`, so the web client's id search finds it), a new token, and the store's
 * record of the user and the token's hash. The name is trimmed. Rejects with
 * the store's errors (BadRequestError for a blank or too long name).
 */
export async function createBotAccount(store: ChatStore, name: string, now: () => number = Date.now): Promise<CreatedBot> {
  const id = BOT_ID_PREFIX + randomBytes(8).toString('hex');
  const token = newBotToken();
  const trimmed = name.trim();
  await store.createBot({ id, name: trimmed, tokenHash: botTokenHash(token), createdAt: now() });
  return { user: { id, name: trimmed, bot: true }, token };
}

/**
 * Revokes the bot's token; see ChatStore.revokeBot. Resolves with the bot as
 * stored, or null when `userId` is no bot.
 */
export function revokeBotAccount(store: ChatStore, userId: string, now: () => number = Date.now): Promise<BotRecord | null> {
  return store.revokeBot(userId, now());
}
