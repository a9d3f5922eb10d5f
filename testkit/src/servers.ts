// The real nats-server and redis-server child processes tests start: the
// product's own module (what `chat cluster` starts), reused as it is.
export {
  type NatsCluster,
  type NatsServerProcess,
  type RedisServerProcess,
  type ServerProcess,
  freePort,
  startNatsCluster,
  startNatsServer,
  startRedisSentinel,
  startRedisServer,
} from '@chat/deploy/local-servers';

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsServerProcess } from '@chat/deploy/local-servers';

/**
 * SIGKILLs `nats` and starts it again on the same port with an empty store
 * directory: a NATS that lost its JetStream state (streams, KV buckets).
 * `downMs`: how long it stays down in between. Resolves once it accepts
 * connections again.
 */
export async function restartNatsWithEmptyStore(nats: NatsServerProcess, downMs = 0): Promise<void> {
  await nats.kill('SIGKILL');
  for (const entry of await readdir(nats.storeDir)) await rm(join(nats.storeDir, entry), { recursive: true, force: true });
  if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
  await nats.restart();
}
