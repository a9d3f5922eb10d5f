import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { type NatsBus, connectNatsBus } from '../bus/nats-bus.js';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { checkSharedSettings } from './shared-settings.js';

describe('checkSharedSettings on a real nats-server', () => {
  let nats: NatsServerProcess;
  let bus: NatsBus;
  beforeAll(async () => {
    nats = await startNatsServer();
    bus = await connectNatsBus({ servers: nats.url, name: 'shared-settings-test', logger: silentLogger() });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
  });

  const check = (mine: Record<string, number>, hostAlive = true) =>
    checkSharedSettings({
      connection: bus.connection,
      leaseBucket: 'older',
      mine,
      who: 'test host',
      logger: silentLogger(),
      recorder: { anyHostAlive: async () => hostAlive },
    });

  it('adds a setting an older build did not record, and holds later hosts to it', async () => {
    // What a build without LEASE_REPLICAS recorded.
    await check({ SHARDS: 16, LEASE_TTL_MS: 2000 });
    // A newer host agrees on those and brings one more: recorded, not ignored.
    await check({ SHARDS: 16, LEASE_TTL_MS: 2000, LEASE_REPLICAS: 3 });
    const other = check({ SHARDS: 16, LEASE_TTL_MS: 2000, LEASE_REPLICAS: 1 });
    await expect(other).rejects.toBeInstanceOf(ConfigError);
    await expect(other).rejects.toThrow('LEASE_REPLICAS is 1 here but 3 in the running cluster');
    // An older host, which shares fewer settings, still starts.
    await check({ SHARDS: 16, LEASE_TTL_MS: 2000 });
  });
});
