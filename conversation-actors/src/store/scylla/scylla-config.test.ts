import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnvConfig } from '@chat/platform';
import { actorsEnvSchema } from '../../config.js';
import { parseReplication, replicationCql, scyllaEnvSchema, scyllaOptionsFromEnv } from './scylla-config.js';

const options = (env: NodeJS.ProcessEnv) => scyllaOptionsFromEnv(loadEnvConfig(scyllaEnvSchema, env));
const problems = (f: () => unknown): readonly string[] => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('Scylla configuration', () => {
  it('has safe defaults: datacenter1, keyspace chat, LOCAL_QUORUM, no TLS, no credentials', () => {
    expect(options({ SCYLLA_CONTACT_POINTS: '127.0.0.1' })).toEqual({
      contactPoints: ['127.0.0.1'],
      localDataCenter: 'datacenter1',
      keyspace: 'chat',
      credentials: undefined,
      tls: false,
      consistency: 'LOCAL_QUORUM',
      requestTimeoutMs: 12_000,
    });
  });

  it('reads every variable', () => {
    expect(
      options({
        SCYLLA_CONTACT_POINTS: ' scylla-1:9042, scylla-2 ,[::1]:19042,10.0.0.3',
        SCYLLA_LOCAL_DC: 'eu-west',
        SCYLLA_KEYSPACE: 'chat_prod',
        SCYLLA_USERNAME: 'chat',
        SCYLLA_PASSWORD: 's3cret',
        SCYLLA_TLS: 'true',
        SCYLLA_CONSISTENCY: 'QUORUM',
        SCYLLA_REQUEST_TIMEOUT_MS: '5000',
      }),
    ).toEqual({
      contactPoints: ['scylla-1:9042', 'scylla-2', '[::1]:19042', '10.0.0.3'],
      localDataCenter: 'eu-west',
      keyspace: 'chat_prod',
      credentials: { username: 'chat', password: 's3cret' },
      tls: { ca: undefined },
      consistency: 'QUORUM',
      requestTimeoutMs: 5000,
    });
  });

  it('reads a private CA from SCYLLA_TLS_CA_FILE (TLS on), and names the variable when the file is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scylla-ca-'));
    try {
      const file = join(dir, 'ca.pem');
      writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const tls = options({ SCYLLA_CONTACT_POINTS: 'db', SCYLLA_TLS_CA_FILE: file }).tls;
      expect(tls && tls.ca?.toString()).toMatch(/BEGIN CERTIFICATE/);
      const found = problems(() => options({ SCYLLA_CONTACT_POINTS: 'db', SCYLLA_TLS_CA_FILE: join(dir, 'missing.pem') }));
      expect(found).toEqual([expect.stringMatching(/^SCYLLA_TLS_CA_FILE: cannot read ".*missing\.pem" \(ENOENT\)$/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every bad variable at once', () => {
    const found = problems(() =>
      options({ SCYLLA_CONTACT_POINTS: 'ok-host,bad host,h:99999', SCYLLA_LOCAL_DC: "dc'1", SCYLLA_KEYSPACE: 'Chat-Prod', SCYLLA_USERNAME: 'only-user' }),
    );
    expect(found).toHaveLength(5);
    expect(found.join('\n')).toMatch(/"bad host" is not a host/);
    expect(found.join('\n')).toMatch(/"h:99999" is not a host/);
    expect(found.join('\n')).toMatch(/SCYLLA_LOCAL_DC/);
    expect(found.join('\n')).toMatch(/SCYLLA_KEYSPACE/);
    expect(found.join('\n')).toMatch(/set both or neither/);
  });

  it('requires contact points', () => {
    expect(problems(() => options({}))).toEqual([expect.stringMatching(/^SCYLLA_CONTACT_POINTS: required/)]);
  });

  it('refuses an unknown consistency or a bad timeout when the environment is loaded', () => {
    expect(() => loadEnvConfig(scyllaEnvSchema, { SCYLLA_CONSISTENCY: 'local_quorum' })).toThrow(ConfigError);
    expect(() => loadEnvConfig(scyllaEnvSchema, { SCYLLA_TLS: 'maybe' })).toThrow(ConfigError);
    expect(() => loadEnvConfig(scyllaEnvSchema, { SCYLLA_REQUEST_TIMEOUT_MS: '10' })).toThrow(ConfigError);
  });

  it('is part of the actors environment: STORE=scylla is accepted, sqlite stays the default', () => {
    expect(loadEnvConfig(actorsEnvSchema, {}).STORE).toBe('sqlite');
    const config = loadEnvConfig(actorsEnvSchema, { STORE: 'scylla', SCYLLA_CONTACT_POINTS: 'db' });
    expect(config.STORE).toBe('scylla');
    expect(scyllaOptionsFromEnv(config).contactPoints).toEqual(['db']);
    expect(() => loadEnvConfig(actorsEnvSchema, { STORE: 'postgres' })).toThrow(ConfigError);
  });
});

describe('SCYLLA_REPLICATION', () => {
  it('parses SimpleStrategy and NetworkTopologyStrategy into a CQL map', () => {
    expect(replicationCql(parseReplication('SimpleStrategy:1'))).toBe("{'class': 'SimpleStrategy', 'replication_factor': 1}");
    expect(replicationCql(parseReplication('NetworkTopologyStrategy:eu-west=3, us_east=3'))).toBe(
      "{'class': 'NetworkTopologyStrategy', 'eu-west': 3, 'us_east': 3}",
    );
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'SimpleStrategy', 'SimpleStrategy:0', 'SimpleStrategy:x', 'NetworkTopologyStrategy:', "NetworkTopologyStrategy:dc'=3", 'NetworkTopologyStrategy:a=1,a=2', 'LocalStrategy:1', 'SimpleStrategy:1:2']) {
      expect(() => parseReplication(bad), bad).toThrow(ConfigError);
    }
  });
});
