import { USER_ID_PATTERN } from '@chat/proto';
import { isBotTokenHash } from '@chat/platform';
import { BadRequestError } from '../errors.js';
import type { AppendBatch, NewBot } from './store.js';

// Argument checks every ChatStore backend runs before it reads or writes
// anything, so a bad call is a BadRequestError whichever backend is behind it.

/** Refuses a value that is not a safe integer with BadRequestError. */
export function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new BadRequestError(`${what} must be an integer, got ${value}`);
}

/** Refuses a page limit below 1 (or not an integer) with BadRequestError. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new BadRequestError(`limit must be a positive integer, got ${limit}`);
}

/**
 * The store, not only the actor, refuses a batch that would leave a gap or mix
 * conversations: the guarantee of gapless seqs must not rest on every caller.
 * Only these O(1)-per-message checks; the message content was validated once,
 * at the gateway, and is not checked again.
 */
export function checkBatch(batch: AppendBatch): void {
  checkInteger(batch.epoch, 'epoch');
  checkInteger(batch.expectedLastSeq, 'expectedLastSeq');
  if (batch.changeSeq !== undefined) checkInteger(batch.changeSeq, 'changeSeq');
  if (batch.messages.length === 0) throw new BadRequestError('appendMessages: empty batch');
  const keys = new Set<string>();
  batch.messages.forEach((message, i) => {
    if (message.conversationId !== batch.conversationId) {
      throw new BadRequestError(`appendMessages: message for ${message.conversationId} in a batch for ${batch.conversationId}`);
    }
    if (message.seq !== batch.expectedLastSeq + 1 + i) {
      throw new BadRequestError(`appendMessages: message ${i} has seq ${message.seq}, expected ${batch.expectedLastSeq + 1 + i}`);
    }
    // A user id never contains NUL (ID_PATTERN), so the first NUL ends it: the key is unambiguous.
    const key = `${message.senderId}\u0000${message.clientMsgId}`;
    if (keys.has(key)) throw new BadRequestError(`appendMessages: clientMsgId ${message.clientMsgId} twice in one batch`);
    keys.add(key);
  });
}

/** Longest bot display name createBot accepts (the protocol's user names are at most 100 characters after login). */
export const MAX_BOT_NAME_CHARS = 100;

/**
 * Refuses a NewBot with a bad id (not a protocol user id), an empty or
 * too long name, a token hash that is not 64 hex digits or a bad createdAt.
 */
export function checkNewBot(bot: NewBot): void {
  if (!USER_ID_PATTERN.test(bot.id)) throw new BadRequestError(`createBot: ${JSON.stringify(bot.id)} is not a valid user id`);
  if (bot.name.trim().length === 0 || bot.name.length > MAX_BOT_NAME_CHARS) {
    throw new BadRequestError(`createBot: the name must be 1 to ${MAX_BOT_NAME_CHARS} characters, not blank`);
  }
  if (!isBotTokenHash(bot.tokenHash)) throw new BadRequestError('createBot: tokenHash must be a SHA-256 in lowercase hex');
  checkInteger(bot.createdAt, 'createdAt');
}
