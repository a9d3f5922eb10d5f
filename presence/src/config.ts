import { z } from 'zod';
import { envInt } from '@chat/platform';
import { parseRedisUrl } from './redis-target.js';

/**
 * How long a session stays online without a gateway heartbeat. Gateways
 * heartbeat every 3 s, so a live session survives two lost heartbeats, and
 * the users of a gateway that died go offline within 9 s (8 s plus at most one
 * expiry round of the presence service), inside the 10 s we promise.
 */
export const DEFAULT_PRESENCE_TTL_MS = 8_000;

/** docs/protocol.md: a typist who sent no new `typing active: true` for 6 s is reported stopped. */
export const DEFAULT_TYPING_TTL_MS = 6000;

/** Prefix of every presence key in Redis. */
export const DEFAULT_PRESENCE_KEY_PREFIX = 'chat:presence:';

/**
 * Environment of the presence service (the `presence` role and the presence
 * half of `standalone`). PRESENCE_TTL_MS must stay well above the gateways'
 * heartbeat interval, or live sessions expire between heartbeats.
 */
export const presenceEnvSchema = z.object({
  PRESENCE_TTL_MS: envInt(DEFAULT_PRESENCE_TTL_MS, 1000, 3_600_000),
  /** Quiet time before the server sends `typing active: false` for a typist (docs/protocol.md: 6 s), plus at most one expiry round (1 s). */
  TYPING_EXPIRY_MS: envInt(DEFAULT_TYPING_TTL_MS, 100, 600_000),
  /**
   * Redis for presence: `redis://host:port[/db]`, or the primary of Redis
   * Sentinels (`redis-sentinel://[:password@]host:port,…/<master>[/<db>]`);
   * unset: in memory, one presence instance only.
   */
  REDIS_URL: z
    .string()
    .superRefine((url, ctx) => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      }
    })
    .optional(),
  /** Prefix of the presence keys in Redis, so deployments can share one. */
  PRESENCE_KEY_PREFIX: z.string().min(1).max(100).default(DEFAULT_PRESENCE_KEY_PREFIX),
});

export type PresenceEnv = z.output<typeof presenceEnvSchema>;
