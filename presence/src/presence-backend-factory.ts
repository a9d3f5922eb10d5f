import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@chat/platform';
import { MemoryPresenceBackend } from './memory-presence-backend.js';
import type { PresenceBackend } from './presence-backend.js';
import { RedisPresenceBackend } from './redis-presence-backend.js';
import { describeRedisTarget, parseRedisUrl } from './redis-target.js';
import type { PresenceEnv } from './config.js';

/** How long start-up waits for Redis before going on without it (presence degraded, chat unaffected). */
const REDIS_STARTUP_WAIT_MS = 3000;

/**
 * The presence backend a role's environment asks for: Redis when REDIS_URL is
 * set (any number of presence instances may share it), else memory (exactly
 * one instance). A Redis that is down at start is logged, not fatal: the
 * backend keeps reconnecting and presence recovers by itself.
 */
export async function openPresenceBackend(
  config: PresenceEnv,
  options: { registry: Registry; logger: Logger },
): Promise<{ backend: PresenceBackend; kind: 'redis' | 'memory' }> {
  if (!config.REDIS_URL) return { backend: new MemoryPresenceBackend({ ttlMs: config.PRESENCE_TTL_MS, typingTtlMs: config.TYPING_EXPIRY_MS }), kind: 'memory' };
  const latency = new Histogram({
    name: 'chat_presence_redis_seconds',
    help: 'Redis round trips of the presence backend, by operation and outcome (ok or error).',
    labelNames: ['op', 'outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [options.registry],
  });
  const errors = new Counter({
    name: 'chat_presence_redis_errors_total',
    help: 'Presence backend calls that failed against Redis (down, slow or erroring), by operation.',
    labelNames: ['op'],
    registers: [options.registry],
  });
  const backend = new RedisPresenceBackend({
    url: config.REDIS_URL,
    ttlMs: config.PRESENCE_TTL_MS,
    typingTtlMs: config.TYPING_EXPIRY_MS,
    keyPrefix: config.PRESENCE_KEY_PREFIX,
    observe: (op, seconds, ok) => {
      latency.observe({ op, outcome: ok ? 'ok' : 'error' }, seconds);
      if (!ok) errors.inc({ op });
    },
  });
  await backend.ready(REDIS_STARTUP_WAIT_MS).catch((err: unknown) => {
    options.logger.warn({ err, redis: describeRedisTarget(parseRedisUrl(config.REDIS_URL!)) }, 'Redis not reachable yet: presence answers unavailable until it is');
  });
  return { backend, kind: 'redis' };
}
