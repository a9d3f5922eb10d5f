import { z } from 'zod';
import { type ChangeStreamSettings, DEFAULT_CHANGE_MAX_AGE_MS, DEFAULT_CHANGE_MAX_BYTES, type NatsAuth, type NatsTls, envInt, envString, loadNatsSecurity } from '@chat/platform';
import { actorsEnvSchema } from '@chat/conversation-actors';
import { checkTokenSettings, gatewayEnvSchema } from '@chat/edge-gateway';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_LEASE_TTL_MS = 2000;
export const DEFAULT_ACTORS_PORT = 9100;
export const DEFAULT_PRESENCE_PORT = 9200;
export const DEFAULT_INDEXER_PORT = 9300;
export const DEFAULT_INDEXER_CONCURRENCY = 8;
/** A gateway's ops port (OPS_PORT): /healthz, /readyz and /metrics, apart from the public port. */
export const DEFAULT_GATEWAY_OPS_PORT = 9101;

const natsEnv = {
  /** One URL or several, comma-separated. */
  NATS_URL: envString(DEFAULT_NATS_URL),
  /** A creds file (user JWT and nkey seed, as `nsc` writes it); or NATS_USER/NATS_PASSWORD; or NATS_TOKEN. */
  NATS_CREDS: z.string().optional(),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_TOKEN: z.string().optional(),
  /** CA file to verify the server with; NATS_TLS_CERT and NATS_TLS_KEY: a client certificate (both or neither). */
  NATS_TLS_CA: z.string().optional(),
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
};

/**
 * The change stream (CHAT_CHANGES) an actor host with SEARCH=postgres or the
 * indexer creates if it is missing; an existing stream keeps its settings.
 */
const changeStreamEnv = {
  CHANGES_REPLICAS: envInt(1, 1, 5),
  CHANGES_MAX_AGE_MS: envInt(DEFAULT_CHANGE_MAX_AGE_MS, 60_000, 365 * 24 * 3600 * 1000),
  CHANGES_MAX_BYTES: envInt(DEFAULT_CHANGE_MAX_BYTES, 1024 * 1024, Number.MAX_SAFE_INTEGER),
};

/** The change stream's settings of a role's CHANGES_* values. */
export function changeStreamSettings(config: { CHANGES_REPLICAS: number; CHANGES_MAX_AGE_MS: number; CHANGES_MAX_BYTES: number }): ChangeStreamSettings {
  return { replicas: config.CHANGES_REPLICAS, maxAgeMs: config.CHANGES_MAX_AGE_MS, maxBytes: config.CHANGES_MAX_BYTES };
}

/**
 * `chat gateway`: a gateway on NATS. Dev login is off unless DEV_LOGIN=true.
 * It verifies tokens with JWT_SECRET (HS256), an identity provider
 * (JWKS_URL or OIDC_ISSUER), or both; at least one is required. Its ops
 * endpoints are always on OPS_PORT, never on the public PORT.
 */
export const clusterGatewayEnvSchema = gatewayEnvSchema
  .extend({
    ...natsEnv,
    OPS_PORT: envInt(DEFAULT_GATEWAY_OPS_PORT, 0, 65_535),
    /** The actor hosts' lease bucket: the gateway checks its SHARDS against the value they recorded beside it. */
    LEASE_BUCKET: envString('chat_leases'),
  })
  .superRefine(checkTokenSettings(true));

/** `chat actors`: an actor host on NATS, taking shard leases; PORT serves /healthz, /readyz, /metrics. */
export const clusterActorsEnvSchema = actorsEnvSchema.extend({
  ...natsEnv,
  PORT: envInt(DEFAULT_ACTORS_PORT, 0, 65_535),
  LEASE_TTL_MS: envInt(DEFAULT_LEASE_TTL_MS, 500, 600_000),
  LEASE_BUCKET: envString('chat_leases'),
  /**
   * JetStream replicas of the lease buckets (hosts, claims, shared settings):
   * 3 on a NATS cluster of 3 or more, so losing a NATS server loses no lease
   * state. An existing bucket is moved to this number at start.
   */
  LEASE_REPLICAS: envInt(1, 1, 5),
  /** Unique per host incarnation; default host name, pid and a random suffix. */
  HOST_ID: envString(''),
  ...changeStreamEnv,
});

/**
 * `chat indexer`: follows the change notices on NATS and keeps the PostgreSQL
 * search index (SEARCH=postgres, PG_URL) current from the store (STORE,
 * DATA_DIR or SCYLLA_*, as the actor hosts have them); PORT serves /healthz,
 * /readyz, /metrics.
 */
export const clusterIndexerEnvSchema = actorsEnvSchema.extend({
  ...natsEnv,
  PORT: envInt(DEFAULT_INDEXER_PORT, 0, 65_535),
  /** Conversations caught up at once (each a few store reads and one PostgreSQL transaction per step). */
  INDEXER_CONCURRENCY: envInt(DEFAULT_INDEXER_CONCURRENCY, 1, 256),
  /** Notices taken per fetch, and (times 10) delivered but unacknowledged at most. */
  INDEXER_BATCH: envInt(100, 1, 1000),
  ...changeStreamEnv,
});

/** `chat presence`: the presence service on NATS; PORT serves /healthz, /readyz, /metrics. */
export const clusterPresenceEnvSchema = z.object({
  ...natsEnv,
  PORT: envInt(DEFAULT_PRESENCE_PORT, 0, 65_535),
});

/** What connectNatsBus needs from the NATS_* settings: checked (files read, pairs complete) before anything starts. */
export interface NatsConnectSettings {
  servers: string[];
  auth: NatsAuth | undefined;
  tls: NatsTls | undefined;
  /** `_INBOX.<role>`: the role's replies arrive under a prefix of its own (deploy/nats/nats-server.conf allows each role only its own). */
  inboxPrefix: string;
}

/**
 * The servers, credentials and TLS files of a role's NATS_* settings, and the
 * role's inbox prefix. Throws ConfigError naming the variable (and the path)
 * on a bad combination or an unreadable file, so a role fails before it opens
 * anything.
 */
export function natsConnectSettings(
  config: { NATS_URL: string } & Parameters<typeof loadNatsSecurity>[0],
  role: 'gateway' | 'actors' | 'presence' | 'indexer',
): NatsConnectSettings {
  return { servers: natsServers(config.NATS_URL), ...loadNatsSecurity(config), inboxPrefix: `_INBOX.${role}` };
}

/** The NATS server list of a NATS_URL value. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
