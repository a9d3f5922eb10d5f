import type Database from 'better-sqlite3';
import type { User } from '@chat/proto';
import { ConflictError } from '../../errors.js';
import type { BotRecord, NewBot } from '../store.js';
import { checkNewBot } from '../input-checks.js';
import { writeError } from './sqlite-errors.js';
import type { SqliteWriter } from './sqlite-writer.js';

interface BotRow {
  id: string;
  name: string;
  created_at: number;
  revoked_at: number | null;
}

const BOT_COLUMNS = 'b.id, u.name, b.created_at, b.revoked_at FROM bots b JOIN users u ON u.id = b.id';

/**
 * The bot accounts of the SQLite store (schema version 3): reads on the
 * store's connection, writes on its writer thread like every other write. A
 * user is a bot when it has a bots row; its name stays in users.
 */
export class SqliteBots {
  readonly #list: Database.Statement<[], BotRow>;
  readonly #one: Database.Statement<[string], BotRow>;
  readonly #byHash: Database.Statement<[string], { id: string; name: string }>;

  constructor(
    db: Database.Database,
    private readonly writer: SqliteWriter,
  ) {
    this.#list = db.prepare<[], BotRow>(`SELECT ${BOT_COLUMNS} ORDER BY b.id`);
    this.#one = db.prepare<[string], BotRow>(`SELECT ${BOT_COLUMNS} WHERE b.id = ?`);
    // The UNIQUE index on token_hash; a revoked bot's hash is NULL, so it never matches.
    this.#byHash = db.prepare<[string], { id: string; name: string }>(
      'SELECT b.id, u.name FROM bots b JOIN users u ON u.id = b.id WHERE b.token_hash = ? AND b.revoked_at IS NULL',
    );
  }

  async create(bot: NewBot): Promise<void> {
    checkNewBot(bot);
    const user = { id: bot.id, name: bot.name, nameLower: bot.name.toLowerCase(), idLower: bot.id.toLowerCase() };
    const outcome = await this.writer.createBot({ user, tokenHash: bot.tokenHash, createdAt: bot.createdAt });
    if (outcome.kind === 'conflict') throw new ConflictError(`createBot: ${bot.id} is already a user`);
    if (outcome.kind !== 'done') throw writeError('createBot', outcome);
  }

  list(): BotRecord[] {
    return this.#list.all().map(toBotRecord);
  }

  async revoke(id: string, revokedAt: number): Promise<BotRecord | null> {
    const outcome = await this.writer.revokeBot({ id, revokedAt });
    if (outcome.kind !== 'done') throw writeError('revokeBot', outcome);
    // Read after the commit: the revokedAt stored, this call's or an earlier one's.
    const row = this.#one.get(id);
    return row ? toBotRecord(row) : null;
  }

  byTokenHash(tokenHash: string): User | null {
    const row = this.#byHash.get(tokenHash);
    return row ? { id: row.id, name: row.name, bot: true } : null;
  }
}

function toBotRecord(row: BotRow): BotRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at, revokedAt: row.revoked_at };
}
