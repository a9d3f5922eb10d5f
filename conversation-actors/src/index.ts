export * from './errors.js';
export * from './config.js';
export * from './metrics.js';
export type * from './store/store.js';
export { ConversationActor } from './actor/conversation-actor.js';
export { DEFAULT_STREAM_TIMINGS, type StreamTimings } from './actor/streams.js';
export { ActorHost, type ActorHostOptions } from './host/actor-host.js';
export { StaticOwnership, type ShardOwnership, type OwnershipListener } from './host/shard-ownership.js';
export { LeaseOwnership, type LeaseOwnershipOptions } from './host/lease-ownership.js';
export { assignShards } from './host/shard-assignment.js';
export { QueryService, DEFAULT_MAX_SYNC_MESSAGES } from './query/query-service.js';
export { openSqliteStore, SqliteStore } from './store/sqlite/sqlite-store.js';
export { openStore } from './store/open-store.js';
export { WriteHealthStore, DEFAULT_WRITE_PROBE_MS, type WriteHealthOptions } from './store/write-health.js';
export { openScyllaStore, ScyllaStore } from './store/scylla/scylla-store.js';
export {
  scyllaEnv,
  scyllaEnvSchema,
  scyllaOptionsFromEnv,
  parseReplication,
  replicationCql,
  type ScyllaEnv,
  type ScyllaOptions,
  type Replication,
} from './store/scylla/scylla-config.js';
export { type CqlClient, type CqlConnector, createScyllaClient } from './store/scylla/scylla-session.js';
export { applyMigrations, DDL_OPTIONS, loadMigrations, SCYLLA_SCHEMA_VERSION, type Migration } from './store/scylla/scylla-migrations.js';
export { backfillMemberSummaries, type BackfillOutcome } from './store/scylla/scylla-backfill.js';
export { BOT_ID_PREFIX, createBotAccount, revokeBotAccount, type CreatedBot } from './bots/bot-accounts.js';
export type * from './search/search-index.js';
export { IndexedSearchStore } from './search/indexed-search-store.js';
export { catchUp, CATCH_UP_PAGE, type CatchUpResult } from './search/catch-up.js';
export { openPgSearchIndex, PgSearchIndex, PER_CONVERSATION_MAX } from './search/postgres/pg-search-index.js';
export { MESSAGE_INDEXES, PG_SEARCH_SCHEMA_VERSION } from './search/postgres/pg-search-schema.js';
export { tsqueryLiteral, tsvectorLiteral } from './search/postgres/pg-text-search.js';
export {
  searchEnv,
  searchEnvSchema,
  pgSearchOptionsFromEnv,
  DEFAULT_PG_POOL_MAX,
  type SearchEnv,
  type PgSearchOptions,
} from './search/postgres/pg-search-config.js';
export { matchesTerms } from './store/search/matches-terms.js';
export { searchTerms, type SearchTerm } from './store/search/search-terms.js';
export { ForwardingStore } from './store/forwarding-store.js';
export { ChangeNoticeStore } from './search/change-notice-store.js';
export { Indexer, type IndexerOptions } from './indexer/indexer.js';
export { IndexerMetrics } from './indexer/indexer-metrics.js';
export type { IndexerCatchUp, CaughtUp } from './indexer/catch-up-scheduler.js';
export { chunkConversationViews } from './actor/views-chunks.js';
export { checkViewsFitBus, largestMemberListBytes } from './actor/view-size.js';
