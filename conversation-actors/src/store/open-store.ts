import type { ActorsEnv } from '../config.js';
import type { ChatStore } from './store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { scyllaOptionsFromEnv } from './scylla/scylla-config.js';
import { openScyllaStore } from './scylla/scylla-store.js';

/**
 * The store STORE selects: `sqlite` (default) in DATA_DIR, or `scylla` on the
 * cluster SCYLLA_* names. Throws ConfigError for bad SCYLLA_* values and
 * StoreUnavailableError if the store cannot be opened (for Scylla: no node
 * reachable, or a keyspace `chat migrate` has not brought to this build's schema).
 */
export async function openStore(config: ActorsEnv): Promise<ChatStore> {
  if (config.STORE === 'scylla') return openScyllaStore(scyllaOptionsFromEnv(config));
  return openSqliteStore({ dataDir: config.DATA_DIR, synchronous: config.SQLITE_SYNC });
}
