import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { USER_ID_PATTERN } from '@chat/proto';
import { botTokenHash, isWellFormedBotToken } from '@chat/platform';
import { BadRequestError } from '../errors.js';
import { type SqliteStore, openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { BOT_ID_PREFIX, createBotAccount, revokeBotAccount } from './bot-accounts.js';

describe('bot accounts on a real SQLite store', () => {
  let dir: string;
  let store: SqliteStore;

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function open(): SqliteStore {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-bots-'));
    return (store = openSqliteStore({ dataDir: dir }));
  }

  it('creates a bot with a fresh id and token, storing only the token hash', async () => {
    open();
    const a = await createBotAccount(store, '  Summarizer ', () => 42);
    const b = await createBotAccount(store, 'Summarizer');
    expect(a.user).toEqual({ id: a.user.id, name: 'Summarizer', bot: true });
    expect(a.user.id).toMatch(new RegExp(`^${BOT_ID_PREFIX}[0-9a-f]{16}$`));
    expect(USER_ID_PATTERN.test(a.user.id)).toBe(true);
    expect(isWellFormedBotToken(a.token)).toBe(true);
    expect(b.user.id).not.toBe(a.user.id);
    expect(b.token).not.toBe(a.token);
    expect(await store.botByTokenHash(botTokenHash(a.token))).toEqual(a.user);
    expect((await store.listBots()).find((x) => x.id === a.user.id)).toEqual({ id: a.user.id, name: 'Summarizer', createdAt: 42, revokedAt: null });
    // The token itself is nowhere in the file.
    const file = fs.readFileSync(path.join(dir, 'chat.db')).toString('latin1') + readWal(dir);
    expect(file.includes(a.token.slice(8))).toBe(false);
  });

  it('refuses a blank name and revokes by id', async () => {
    open();
    await expect(createBotAccount(store, '   ')).rejects.toBeInstanceOf(BadRequestError);
    const { user, token } = await createBotAccount(store, 'Helper');
    expect(await revokeBotAccount(store, user.id, () => 7)).toMatchObject({ id: user.id, revokedAt: 7 });
    expect(await store.botByTokenHash(botTokenHash(token))).toBeNull();
    expect(await revokeBotAccount(store, 'bot_nobody')).toBeNull();
  });
});

function readWal(dir: string): string {
  const wal = path.join(dir, 'chat.db-wal');
  return fs.existsSync(wal) ? fs.readFileSync(wal).toString('latin1') : '';
}
