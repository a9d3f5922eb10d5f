import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServerProcess, startNatsServer } from '@chat/testkit/servers';
import { type NatsCertificates, NatsOperator, natsCertificates } from '@chat/testkit/nats-security';
import { connectNatsBus } from './nats-bus.js';
import { type NatsSecurityEnv, loadNatsSecurity } from './nats-security.js';
import { BusRefusedError, ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';

/** The handshake timeout of these connections: a server that drops a client without a certificate shows only as one. */
const CONNECT_TIMEOUT_MS = 2000;
/** A refused start must end within the connect timeout, not after a reconnect loop; generous for a loaded machine. */
const REFUSED_WITHIN_MS = CONNECT_TIMEOUT_MS + 4000;

let dir: string;
let certs: NatsCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nats-security-'));
  certs = natsCertificates(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A nats-server with `config` (and no JetStream: these tests need none). */
async function serverWith(name: string, config: string): Promise<NatsServerProcess> {
  const path = join(dir, `${name}.conf`);
  writeFileSync(path, config);
  return startNatsServer({ jetstream: false, configFile: path });
}

/** Connects with the settings `env`, publishes and receives one message, and closes. */
async function roundTrip(url: string, env: NatsSecurityEnv): Promise<void> {
  const bus = await connectNatsBus({ servers: url, name: 'secure', logger: silentLogger(), ...loadNatsSecurity(env) });
  try {
    const got = new Promise<string>((resolve) => bus.subscribe('secure.echo', (m) => resolve(new TextDecoder().decode(m.data))));
    await bus.flush();
    bus.publish('secure.echo', new TextEncoder().encode('hello'));
    expect(await got).toBe('hello');
  } finally {
    await bus.close();
  }
}

/** The start's error, checking it came quickly (no reconnect loop). */
async function refusal(url: string, env: NatsSecurityEnv): Promise<BusRefusedError> {
  const started = performance.now();
  const err = await connectNatsBus({ servers: url, name: 'refused', logger: silentLogger(), requestTimeoutMs: CONNECT_TIMEOUT_MS, ...loadNatsSecurity(env) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(performance.now() - started).toBeLessThan(REFUSED_WITHIN_MS);
  expect(err).toBeInstanceOf(BusRefusedError);
  return err as BusRefusedError;
}

function configProblem(env: NatsSecurityEnv): string {
  try {
    loadNatsSecurity(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadNatsSecurity: settings checked before anything starts', () => {
  it('nothing set: no credentials, no TLS', () => {
    expect(loadNatsSecurity({})).toEqual({ auth: undefined, tls: undefined });
  });

  it('refuses two ways of authenticating, naming both', () => {
    expect(configProblem({ NATS_TOKEN: 't', NATS_USER: 'u', NATS_PASSWORD: 'p' })).toMatch(/^NATS_USER\/NATS_PASSWORD, NATS_TOKEN: set one way/);
    expect(configProblem({ NATS_CREDS: certs.caPath, NATS_TOKEN: 't' })).toMatch(/^NATS_CREDS, NATS_TOKEN: /);
  });

  it('wants NATS_USER and NATS_PASSWORD together, NATS_TLS_CERT and NATS_TLS_KEY together', () => {
    expect(configProblem({ NATS_USER: 'u' })).toMatch(/^NATS_PASSWORD: required when NATS_USER is set/);
    expect(configProblem({ NATS_PASSWORD: 'p' })).toMatch(/^NATS_USER: required when NATS_PASSWORD is set/);
    expect(configProblem({ NATS_TLS_CERT: certs.client.certPath })).toMatch(/^NATS_TLS_KEY: required/);
    expect(configProblem({ NATS_TLS_KEY: certs.client.keyPath })).toMatch(/^NATS_TLS_CERT: required/);
  });

  it('names the variable and the path of a file it cannot read or that is not what it should be', () => {
    const missing = join(dir, 'nope.creds');
    expect(configProblem({ NATS_CREDS: missing })).toContain(`NATS_CREDS: cannot read ${missing}: ENOENT`);
    expect(configProblem({ NATS_CREDS: certs.caPath })).toContain(`NATS_CREDS: ${certs.caPath} is not a NATS creds file`);
    expect(configProblem({ NATS_TLS_CA: missing })).toContain(`NATS_TLS_CA: cannot read ${missing}`);
    expect(configProblem({ NATS_TLS_CA: certs.client.keyPath })).toContain(`NATS_TLS_CA: ${certs.client.keyPath} is not a PEM certificate`);
    expect(configProblem({ NATS_TLS_CERT: certs.client.certPath, NATS_TLS_KEY: certs.server.keyPath })).toContain(
      `NATS_TLS_KEY: ${certs.server.keyPath} is not the private key of the certificate in NATS_TLS_CERT`,
    );
    expect(configProblem({ NATS_TLS_CERT: certs.client.certPath, NATS_TLS_KEY: certs.client.certPath })).toContain('is not a PEM private key');
  });
});

describe('connectNatsBus against a server with authorization', () => {
  it('user and password: the right ones connect, a wrong or missing password is refused at once, naming the cause', async () => {
    const server = await serverWith('users', 'authorization {\n  users = [ { user: gateway, password: "right-password" } ]\n}\n');
    try {
      await roundTrip(server.url, { NATS_USER: 'gateway', NATS_PASSWORD: 'right-password' });
      const wrong = await refusal(server.url, { NATS_USER: 'gateway', NATS_PASSWORD: 'wrong' });
      expect(wrong.reason).toBe('authorization');
      expect(wrong.message).toMatch(/refused the connection: .*Authorization Violation.*user "gateway" \(NATS_USER\)/i);
      expect(wrong.message).not.toContain('wrong');
      const none = await refusal(server.url, {});
      expect(none.message).toContain(`NATS at ${server.url} refused the connection`);
      expect(none.message).toContain('connecting without credentials: set NATS_CREDS, NATS_USER and NATS_PASSWORD, or NATS_TOKEN');
    } finally {
      await server.stop();
    }
  });

  it('token: the right one connects, another is refused', async () => {
    const server = await serverWith('token', 'authorization {\n  token: "the-token"\n}\n');
    try {
      await roundTrip(server.url, { NATS_TOKEN: 'the-token' });
      expect((await refusal(server.url, { NATS_TOKEN: 'not-the-token' })).message).toContain('a token (NATS_TOKEN)');
    } finally {
      await server.stop();
    }
  });

  it('creds file (operator mode): a user of the account connects; one of another operator is refused', async () => {
    const operator = new NatsOperator();
    const server = await serverWith('operator', operator.serverConfig());
    try {
      await roundTrip(server.url, { NATS_CREDS: operator.userCreds(dir, 'actors') });
      const stranger = new NatsOperator().userCreds(dir, 'stranger');
      expect((await refusal(server.url, { NATS_CREDS: stranger })).message).toContain(`the creds file ${stranger} (NATS_CREDS)`);
      expect((await refusal(server.url, {})).reason).toBe('authorization');
    } finally {
      await server.stop();
    }
  });
});

describe('connectNatsBus against a server with TLS', () => {
  const tlsBlock = (verify: boolean) =>
    `tls {\n  cert_file: "${certs.server.certPath}"\n  key_file: "${certs.server.keyPath}"\n  ca_file: "${certs.caPath}"\n  verify: ${verify}\n}\n`;

  it('with NATS_TLS_CA the server is verified and used; a CA that did not sign it fails the start at once', async () => {
    const server = await serverWith('tls', tlsBlock(false));
    try {
      await roundTrip(server.url, { NATS_TLS_CA: certs.caPath });
      const untrusted = await refusal(server.url, { NATS_TLS_CA: certs.otherCaPath });
      expect(untrusted.reason).toBe('tls');
      expect(untrusted.message).toContain(`TLS with NATS at ${server.url} failed`);
      expect(untrusted.message).toContain(`CA NATS_TLS_CA ${certs.otherCaPath}, no client certificate`);
      // No CA given: the system's CAs do not know the test CA either.
      expect((await refusal(server.url, {})).reason).toBe('tls');
    } finally {
      await server.stop();
    }
  });

  it('a server that verifies clients takes one with NATS_TLS_CERT/NATS_TLS_KEY and refuses one without', async () => {
    const server = await serverWith('mtls', tlsBlock(true));
    try {
      await roundTrip(server.url, { NATS_TLS_CA: certs.caPath, NATS_TLS_CERT: certs.client.certPath, NATS_TLS_KEY: certs.client.keyPath });
      const without = await refusal(server.url, { NATS_TLS_CA: certs.caPath });
      expect(without.reason).toBe('tls');
      expect(without.message).toContain('set NATS_TLS_CERT and NATS_TLS_KEY');
    } finally {
      await server.stop();
    }
  });

  it('NATS_TLS_CA against a server without TLS fails the start, saying so', async () => {
    const server = await startNatsServer({ jetstream: false });
    try {
      const plain = await refusal(server.url, { NATS_TLS_CA: certs.caPath });
      expect(plain.reason).toBe('tls');
      expect(plain.message).toContain('the server does not offer TLS, and NATS_TLS_* are set');
    } finally {
      await server.stop();
    }
  });

  it('TLS and a password together', async () => {
    const server = await serverWith('tls-users', `${tlsBlock(false)}authorization {\n  users = [ { user: presence, password: "pw" } ]\n}\n`);
    try {
      await roundTrip(server.url, { NATS_TLS_CA: certs.caPath, NATS_USER: 'presence', NATS_PASSWORD: 'pw' });
      expect((await refusal(server.url, { NATS_TLS_CA: certs.caPath })).reason).toBe('authorization');
    } finally {
      await server.stop();
    }
  });
});
