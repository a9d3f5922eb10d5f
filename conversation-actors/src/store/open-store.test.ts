import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { actorsEnvSchema } from '../config.js';
import { StoreUnavailableError } from '../errors.js';
import { openStore } from './open-store.js';

const env = (vars: NodeJS.ProcessEnv) => loadEnvConfig(actorsEnvSchema, vars);
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );

describe('openStore with STORE=scylla', () => {
  it('refuses ACTOR_MAX_BATCH above the Scylla store’s batch limit at start, naming the variable, before connecting', async () => {
    const err = await rejection(openStore(env({ STORE: 'scylla', SCYLLA_CONTACT_POINTS: '127.0.0.1:1', ACTOR_MAX_BATCH: '5000' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^ACTOR_MAX_BATCH: at most 1000 with STORE=scylla/)]);
  });

  it('needs SCYLLA_CONTACT_POINTS', async () => {
    const err = await rejection(openStore(env({ STORE: 'scylla' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.join()).toMatch(/SCYLLA_CONTACT_POINTS/);
  });

  it('with valid settings but no node listening, fails as unavailable (retryable), not with a driver error', async () => {
    expect(await rejection(openStore(env({ STORE: 'scylla', SCYLLA_CONTACT_POINTS: '127.0.0.1:1' })))).toBeInstanceOf(StoreUnavailableError);
  });
});
