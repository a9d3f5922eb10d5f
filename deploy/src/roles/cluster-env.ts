import { z } from 'zod';
import { envInt, envString } from '@chat/platform';
import { actorsEnvSchema } from '@chat/conversation-actors';
import { checkTokenSettings, gatewayEnvSchema } from '@chat/edge-gateway';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_LEASE_TTL_MS = 2000;
export const DEFAULT_ACTORS_PORT = 9100;
export const DEFAULT_PRESENCE_PORT = 9200;
/** A gateway's ops port (OPS_PORT): /healthz, /readyz and /metrics, apart from the public port. */
export const DEFAULT_GATEWAY_OPS_PORT = 9101;

const natsEnv = {
  /** One URL or several, comma-separated. */
  NATS_URL: envString(DEFAULT_NATS_URL),
};

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
  /** Unique per host incarnation; default host name, pid and a random suffix. */
  HOST_ID: envString(''),
});

/** `chat presence`: the presence service on NATS; PORT serves /healthz, /readyz, /metrics. */
export const clusterPresenceEnvSchema = z.object({
  ...natsEnv,
  PORT: envInt(DEFAULT_PRESENCE_PORT, 0, 65_535),
});

/** The NATS server list of a NATS_URL value. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
