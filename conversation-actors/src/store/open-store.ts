import type { ActorsEnv } from '../config.js';
import type { ChatStore } from './store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { scyllaOptionsFromEnv } from './scylla/scylla-config.js';
import { openScyllaStore } from './scylla/scylla-store.js';
import { createScyllaClient } from './scylla/scylla-session.js';
import { SEAL_WINDOW } from './scylla/scylla-tail.js';
import { ConfigError, type Logger, silentLogger } from '@chat/platform';

/**
 * The store STORE selects: `sqlite` (default) in DATA_DIR, or `scylla` on the
 * cluster SCYLLA_* names. Throws ConfigError for bad SCYLLA_* values and
 * (ACTOR_MAX_BATCH above the Scylla store's batch limit included) and
 * StoreUnavailableError if the store cannot be opened (for Scylla: no node
 * reachable, or a keyspace `chat migrate` has not brought to this build's schema).
 */
export async function openStore(config: ActorsEnv, logger: Logger = silentLogger()): Promise<ChatStore> {
  if (config.STORE === 'scylla') {
    const options = scyllaOptionsFromEnv(config);
    if (config.ACTOR_MAX_BATCH > SEAL_WINDOW) {
      throw new ConfigError([`ACTOR_MAX_BATCH: at most ${SEAL_WINDOW} with STORE=scylla (a batch must fit the window a new owner checks for holes), got ${config.ACTOR_MAX_BATCH}`]);
    }
    return openScyllaStore(options, createScyllaClient, logger.child({ component: 'scylla-store' }));
  }
  return openSqliteStore({ dataDir: config.DATA_DIR, synchronous: config.SQLITE_SYNC });
}
