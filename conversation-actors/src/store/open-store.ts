import type { ActorsEnv } from '../config.js';
import type { ChatStore } from './store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { scyllaOptionsFromEnv } from './scylla/scylla-config.js';
import { openScyllaStore } from './scylla/scylla-store.js';
import { createScyllaClient } from './scylla/scylla-session.js';
import { SEAL_WINDOW } from './scylla/scylla-tail.js';
import { ConfigError, type Logger, silentLogger } from '@chat/platform';
import { pgSearchOptionsFromEnv } from '../search/postgres/pg-search-config.js';
import { openPgSearchIndex } from '../search/postgres/pg-search-index.js';
import { IndexedSearchStore } from '../search/indexed-search-store.js';

/**
 * The store STORE selects: `sqlite` (default) in DATA_DIR, or `scylla` on the
 * cluster SCYLLA_* names. Throws ConfigError for bad SCYLLA_* values and
 * (ACTOR_MAX_BATCH above the Scylla store's batch limit included) and
 * StoreUnavailableError if the store cannot be opened (for Scylla: no node
 * reachable, or a keyspace `chat migrate` has not brought to this build's schema).
 * With SEARCH=postgres, searchMessages is served by the PostgreSQL index at
 * PG_URL (IndexedSearchStore), which the `chat indexer` keeps current; a
 * missing or malformed PG_URL is a ConfigError before anything is opened.
 */
export async function openStore(config: ActorsEnv, logger: Logger = silentLogger()): Promise<ChatStore> {
  const pgSearch = pgSearchOptionsFromEnv(config);
  const store = await openChatStore(config, logger);
  if (!pgSearch) return store;
  try {
    return new IndexedSearchStore(store, await openPgSearchIndex(pgSearch, logger.child({ component: 'pg-search' })));
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

// Views bounded in the store (both backends): a list of big groups reads a few member rows per group, not all of them.
async function openChatStore(config: ActorsEnv, logger: Logger): Promise<ChatStore> {
  if (config.STORE === 'scylla') {
    const options = scyllaOptionsFromEnv(config);
    if (config.ACTOR_MAX_BATCH > SEAL_WINDOW) {
      throw new ConfigError([`ACTOR_MAX_BATCH: at most ${SEAL_WINDOW} with STORE=scylla (a batch must fit the window a new owner checks for holes), got ${config.ACTOR_MAX_BATCH}`]);
    }
    return openScyllaStore(options, createScyllaClient, logger.child({ component: 'scylla-store' }), { viewMembers: config.VIEW_MEMBERS });
  }
  return openSqliteStore({ dataDir: config.DATA_DIR, synchronous: config.SQLITE_SYNC, viewMembers: config.VIEW_MEMBERS });
}
