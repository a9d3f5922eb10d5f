import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { gatewayEnvSchema } from './config.js';

describe('gateway rate-limit configuration', () => {
  it('defaults to 50/s, a burst of 200, 400 strikes per minute and 20 sockets per user', () => {
    const config = loadEnvConfig(gatewayEnvSchema, {});
    expect(config).toMatchObject({
      RATE_LIMIT_PER_SEC: 50,
      RATE_LIMIT_BURST: 200,
      RATE_LIMIT_STRIKES: 400,
      RATE_LIMIT_STRIKE_WINDOW_MS: 60_000,
      MAX_CONNECTIONS_PER_USER: 20,
    });
  });

  it('refuses a bad value before start, naming the variable', () => {
    const err = (() => {
      try {
        loadEnvConfig(gatewayEnvSchema, { MAX_CONNECTIONS_PER_USER: '0', RATE_LIMIT_STRIKE_WINDOW_MS: 'soon' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^RATE_LIMIT_STRIKE_WINDOW_MS: expected an integer from 1000 to /),
      expect.stringMatching(/^MAX_CONNECTIONS_PER_USER: expected an integer from 1 to /),
    ]);
  });
});

describe('gateway ports and connection cap', () => {
  it('leaves OPS_PORT and MAX_CONNECTIONS unset by default (ops on PORT; the cap derived from the open-file limit)', () => {
    const config = loadEnvConfig(gatewayEnvSchema, {});
    expect(config.OPS_PORT).toBeUndefined();
    expect(config.MAX_CONNECTIONS).toBeUndefined();
    expect(loadEnvConfig(gatewayEnvSchema, { OPS_PORT: '0', MAX_CONNECTIONS: '50' })).toMatchObject({ OPS_PORT: 0, MAX_CONNECTIONS: 50 });
  });

  it('refuses a MAX_CONNECTIONS or OPS_PORT that is no integer in range', () => {
    expect(() => loadEnvConfig(gatewayEnvSchema, { MAX_CONNECTIONS: '0' })).toThrow(/MAX_CONNECTIONS: expected an integer from 1 to/);
    expect(() => loadEnvConfig(gatewayEnvSchema, { OPS_PORT: '70000' })).toThrow(/OPS_PORT: expected an integer from 0 to 65535/);
  });
});
