import { z } from 'zod';
import { ConfigError, envEnum, envInt, envString } from '@chat/platform';

export const DEFAULT_PG_POOL_MAX = 10;

/**
 * The search variables, part of the actors' environment (and the indexer's).
 * PG_URL's form is checked whenever it is set; that it is set is checked by
 * pgSearchOptionsFromEnv, only when SEARCH=postgres, so a deployment searching
 * its store's own index never needs it.
 */
export const searchEnv = {
  /** store: the store's own index (SQLite FTS5; the Cassandra store has none); postgres: a PostgreSQL index (PG_URL) the `chat indexer` keeps. */
  SEARCH: envEnum(['store', 'postgres'] as const, 'store'),
  /** postgres:// or postgresql:// URL of the search database; required when SEARCH=postgres. */
  PG_URL: envString('').refine((v) => v === '' || isPostgresUrl(v), { message: 'expected a postgres:// or postgresql:// URL' }),
  /** Connections one process keeps to it at most. */
  PG_POOL_MAX: envInt(DEFAULT_PG_POOL_MAX, 1, 1000),
};

export const searchEnvSchema = z.object(searchEnv);
export type SearchEnv = z.output<typeof searchEnvSchema>;

/** How to reach the PostgreSQL search index, validated. */
export interface PgSearchOptions {
  url: string;
  poolMax: number;
}

/**
 * The PostgreSQL index's settings when SEARCH=postgres, undefined otherwise.
 * Throws ConfigError naming PG_URL when it is missing or not a PostgreSQL URL.
 */
export function pgSearchOptionsFromEnv(env: SearchEnv): PgSearchOptions | undefined {
  if (env.SEARCH !== 'postgres') return undefined;
  if (env.PG_URL === '') throw new ConfigError(['PG_URL: required when SEARCH=postgres (postgres://user:password@host:port/database)']);
  if (!isPostgresUrl(env.PG_URL)) throw new ConfigError(['PG_URL: expected a postgres:// or postgresql:// URL']);
  return { url: env.PG_URL, poolMax: env.PG_POOL_MAX };
}

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** PG_URL's host and port, for messages: never its password. */
export function pgUrlHost(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname;
  } catch {
    return '(unparsable PG_URL)';
  }
}
