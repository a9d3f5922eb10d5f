import { z } from 'zod';
import { DEFAULT_SHARDS } from '@chat/proto';
import { envEnum, envInt, envString, limitsEnv } from '@chat/platform';
import { scyllaEnv } from './store/scylla/scylla-config.js';
import { searchEnv } from './search/postgres/pg-search-config.js';

export const DEFAULT_DATA_DIR = './data';
export const DEFAULT_ACTOR_IDLE_MS = 5 * 60_000;
export const DEFAULT_MAILBOX_CAPACITY = 10_000;
export const DEFAULT_MAX_BATCH = 256;
export const DEFAULT_STREAM_IDLE_MS = 30_000;

/** Environment of the `actors` role (and of the actor half of `standalone`). */
export const actorsEnvSchema = z.object({
  DATA_DIR: envString(DEFAULT_DATA_DIR),
  /** sqlite: one file in DATA_DIR; scylla: a ScyllaDB cluster (SCYLLA_* below; the keyspace made by `chat migrate`). */
  STORE: envEnum(['sqlite', 'scylla'] as const, 'sqlite'),
  /** full: fsync every commit (survives power loss); normal: survives any process dying, much cheaper commits. */
  SQLITE_SYNC: envEnum(['full', 'normal'] as const, 'full'),
  SHARDS: envInt(DEFAULT_SHARDS, 1, 65_536),
  ACTOR_IDLE_MS: envInt(DEFAULT_ACTOR_IDLE_MS, 1000, 24 * 3600_000),
  ACTOR_MAILBOX_CAPACITY: envInt(DEFAULT_MAILBOX_CAPACITY, 1, 1_000_000),
  ACTOR_MAX_BATCH: envInt(DEFAULT_MAX_BATCH, 1, 10_000),
  /** A streamed message with no delta for this long is finished with what arrived (`truncated`). */
  STREAM_IDLE_MS: envInt(DEFAULT_STREAM_IDLE_MS, 100, 3600_000),
  ...scyllaEnv,
  /** SEARCH, PG_URL, PG_POOL_MAX: where message search looks (./search/). */
  ...searchEnv,
  ...limitsEnv,
});

export type ActorsEnv = z.output<typeof actorsEnvSchema>;
