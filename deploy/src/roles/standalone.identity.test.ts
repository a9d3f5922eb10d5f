import { type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Connection, type ConnectionStatus, type SocketLike, websocketUrlOf } from '@chat/client';
import { ConfigError, loadEnvConfig, silentLogger } from '@chat/platform';
import { ChatClient, UpgradeRefused, devLogin } from '@chat/testkit/chat-client';
import { capturingLogger } from '@chat/testkit/capturing-logger';
import { GrpcChat } from '@chat/testkit/grpc-client';
import { type TestKey, TestIdentityProvider, claimsFor, signHs256, unsignedJwt } from '@chat/testkit/identity-provider';
import { tempDir } from '@chat/testkit/system-under-test';
import { clusterGatewayEnvSchema } from './cluster-env.js';
import { type RunningSystem, startStandalone, standaloneEnvSchema } from './standalone.js';

const AUDIENCE = 'chat-tests';

/** What the gateway answers an upgrade with `token`: 'hello' with the user, or the refusal. */
async function upgrade(baseUrl: string, token: string): Promise<{ user?: unknown; status?: number; tokenError?: string; retryAfter?: string; body?: string }> {
  try {
    const client = await ChatClient.connect(baseUrl, token);
    const user = client.hello.user;
    await client.close();
    return { user };
  } catch (err) {
    if (!(err instanceof UpgradeRefused)) throw err;
    return { status: err.status, tokenError: err.tokenError, retryAfter: err.retryAfter, body: err.body };
  }
}

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('standalone with an identity provider (JWKS_URL, JWT_ISSUER, JWT_AUDIENCE)', () => {
  const dir = tempDir();
  let idp: TestIdentityProvider;
  let sys: RunningSystem;
  let baseUrl: string;
  const keys: Record<'RS256' | 'ES256' | 'EdDSA', TestKey> = {} as never;
  const claims = (sub: string, extra: Record<string, unknown> = {}) => claimsFor(sub, { iss: idp.issuer, aud: AUDIENCE, ...extra });

  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      keys[alg] = idp.createKey(alg);
      idp.publish(keys[alg]);
    }
    sys = await startStandalone(silentLogger(), {
      PORT: '0',
      GRPC_PORT: '0',
      DATA_DIR: dir.path,
      JWKS_URL: idp.jwksUrl,
      JWT_ISSUER: idp.issuer,
      JWT_AUDIENCE: AUDIENCE,
      TOKEN_MAX_TTL_S: '86400',
      DEV_TOKEN_TTL_S: '3600',
    });
    baseUrl = `http://127.0.0.1:${sys.port}`;
  });
  afterAll(async () => {
    await sys?.stop();
    await idp?.stop();
    dir.remove();
  });

  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts a %s token at the WebSocket upgrade', async (alg) => {
    expect(await upgrade(baseUrl, idp.sign(keys[alg], claims(`user-${alg.toLowerCase()}`, { name: `User ${alg}` })))).toEqual({
      user: { id: `user-${alg.toLowerCase()}`, name: `User ${alg}` },
    });
  });

  it('refuses bad tokens with 401 and the reason in X-Token-Error', async () => {
    const now = Math.floor(Date.now() / 1000);
    const rsa = keys.RS256;
    const cases: [string, string][] = [
      [idp.sign(rsa, { sub: 'x', iss: idp.issuer, aud: AUDIENCE }), 'exp_missing'],
      [idp.sign(rsa, claims('x', { exp: now + 2 * 86400 })), 'exp_too_far'],
      [idp.sign(rsa, claims('x', { exp: 1e20 })), 'exp_too_far'],
      [idp.sign(rsa, claims('x', { exp: now - 300 })), 'expired'],
      [idp.sign(rsa, claims('x', { iss: 'https://elsewhere.example' })), 'wrong_issuer'],
      [idp.sign(rsa, claims('x', { aud: ['someone-else'] })), 'wrong_audience'],
      [idp.sign(rsa, claims('x', { nbf: now + 600 })), 'not_yet_valid'],
      [unsignedJwt(claims('x')), 'unsupported_alg'],
      // The public key's PEM as an HS256 secret: checked with the HS256 secret only, so the signature is wrong.
      [signHs256(rsa.publicKey.export({ type: 'spki', format: 'pem' }), claims('x'), { kid: rsa.kid }), 'bad_signature'],
      ['not-a-jwt', 'malformed'],
    ];
    for (const [token, reason] of cases) {
      const answer = await upgrade(baseUrl, token);
      expect(answer, reason).toMatchObject({ status: 401, tokenError: reason });
      expect(answer.retryAfter, reason).toBeUndefined();
    }
    expect((await upgrade(baseUrl, idp.sign(rsa, claims('x', { iss: 'https://elsewhere.example' })))).body).toBe(
      `token issuer "https://elsewhere.example" is not the expected ${JSON.stringify(idp.issuer)}`,
    );
  });

  it('accepts a key published after start once the refetch an unknown kid caused has landed; refetches are rate limited', async () => {
    const rotated = idp.createKey('EdDSA', 'rotated-in');
    idp.publish(rotated);
    const before = idp.requests.jwks;
    const token = idp.sign(rotated, claims('rotation', { name: 'Rotation' }));
    const first = await upgrade(baseUrl, token);
    expect(first).toMatchObject({ status: 401, tokenError: 'unknown_key' });
    expect(Number(first.retryAfter)).toBeGreaterThanOrEqual(1);
    await until(() => idp.requests.jwks === before + 1);
    // The client retries with the same token, as the reason tells it to.
    let answer = await upgrade(baseUrl, token);
    for (let i = 0; i < 50 && answer.user === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await upgrade(baseUrl, token);
    }
    expect(answer).toEqual({ user: { id: 'rotation', name: 'Rotation' } });
    // Forged kids right after: refused, and no more fetches than one per window (10 s).
    const stray = idp.createKey('RS256', 'never-published');
    for (let i = 0; i < 20; i++) {
      expect(await upgrade(baseUrl, idp.sign(stray, claims('x'), { kid: `forged-${i}` }))).toMatchObject({ status: 401, tokenError: 'unknown_key' });
    }
    expect(idp.requests.jwks).toBe(before + 1);
  });

  it('gives dev login tokens the issuer and audience every token is checked for', async () => {
    const { token, user } = await devLogin(baseUrl, 'Dev Person');
    expect(await upgrade(baseUrl, token)).toEqual({ user });
  });

  it('accepts the same tokens on the gRPC API, and refuses the same bad ones UNAUTHENTICATED', async () => {
    const api = new GrpcChat(`127.0.0.1:${sys.grpcPort}`, idp.sign(keys.ES256, claims('grpc-user')));
    try {
      await expect(api.call('listConversations', {})).resolves.toMatchObject({ conversations: [] });
      const refused = await api.call('listConversations', {}, idp.sign(keys.ES256, claims('grpc-user', { exp: 1e20 }))).then(
        () => null,
        (e: ServiceError) => e,
      );
      expect(refused?.code).toBe(status.UNAUTHENTICATED);
      expect(refused?.details).toMatch(/^token exp too far ahead/);
    } finally {
      api.client.close();
    }
  });
});

describe('standalone with an OpenID Connect issuer and no JWT_SECRET', () => {
  const dir = tempDir();
  let idp: TestIdentityProvider;
  let sys: RunningSystem;

  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
    idp.publish(idp.createKey('RS256'));
    sys = await startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: 'off', DATA_DIR: dir.path, OIDC_ISSUER: idp.issuer, DEV_LOGIN: 'false' });
  });
  afterAll(async () => {
    await sys?.stop();
    await idp?.stop();
    dir.remove();
  });

  it('found the keys through discovery, requires the issuer as iss, and refuses HS256 (no secret to check it with)', async () => {
    expect(idp.requests.discovery).toBe(1);
    const baseUrl = `http://127.0.0.1:${sys.port}`;
    const key = idp.createKey('EdDSA', 'oidc-ed');
    idp.publish(key);
    // Not known yet: this first try makes the gateway fetch the keys (and is refused, retryably).
    expect(await upgrade(baseUrl, idp.sign(key, claimsFor('olga', { iss: idp.issuer })))).toMatchObject({ tokenError: 'unknown_key' });
    await until(() => idp.requests.jwks === 2);
    let answer = await upgrade(baseUrl, idp.sign(key, claimsFor('olga', { iss: idp.issuer })));
    for (let i = 0; i < 50 && answer.user === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await upgrade(baseUrl, idp.sign(key, claimsFor('olga', { iss: idp.issuer })));
    }
    expect(answer).toEqual({ user: { id: 'olga', name: 'olga' } });
    expect(await upgrade(baseUrl, idp.sign(key, claimsFor('olga')))).toMatchObject({ status: 401, tokenError: 'wrong_issuer' });
    expect(await upgrade(baseUrl, signHs256('some-secret-that-is-long-enough-0123456789', claimsFor('olga', { iss: idp.issuer })))).toMatchObject({
      status: 401,
      tokenError: 'unsupported_alg',
      body: 'token alg HS256 is not accepted: this gateway has no JWT_SECRET (sign tokens with the identity provider)',
    });
    await expect(devLogin(baseUrl, 'Nobody')).rejects.toThrow('dev login is disabled');
  });

  it('the client library retries a refused upgrade by itself, and is online once a newly published key is in', async () => {
    const fresh = idp.createKey('ES256', 'published-later');
    idp.publish(fresh);
    const connection = new Connection({
      url: websocketUrlOf(`http://127.0.0.1:${sys.port}`),
      token: idp.sign(fresh, claimsFor('patient', { name: 'Patient', iss: idp.issuer })),
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      backoff: { baseMs: 200, maxMs: 1000 },
      pingIntervalMs: 0,
    });
    const seen: ConnectionStatus['kind'][] = [];
    connection.status.subscribe((s) => seen.push(s.kind));
    connection.start();
    try {
      await until(() => connection.online);
      expect(connection.hello?.user).toEqual({ id: 'patient', name: 'Patient' });
      // Refused first (the browser sees a failed upgrade, 1006), waited, then tried again.
      expect(seen.slice(0, 4)).toEqual(['idle', 'connecting', 'waiting', 'connecting']);
    } finally {
      connection.stop();
    }
  });

});

describe('standalone: dev login only where it is safe', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  async function withStandalone(env: Record<string, string>, body: (baseUrl: string, lines: { level: number; msg: string }[]) => Promise<void>) {
    const { logger, lines } = capturingLogger();
    const sys = await startStandalone(logger, { PORT: '0', GRPC_PORT: 'off', DATA_DIR: dir.path, ...env });
    try {
      await body(`http://127.0.0.1:${sys.port}`, lines);
    } finally {
      await sys.stop();
    }
  }
  const warning = 'dev login is on beyond loopback: anyone who reaches this port can sign in as anyone (DEV_LOGIN=true); never in production';

  it('is on by default, listening on 127.0.0.1 only, without a warning', async () => {
    await withStandalone({}, async (baseUrl, lines) => {
      const { token } = await devLogin(baseUrl, 'Loopback');
      expect(await upgrade(baseUrl, token)).toMatchObject({ user: { id: 'loopback' } });
      expect(lines.find((l) => l.msg === 'gateway listening')).toMatchObject({ host: '127.0.0.1' });
      expect(lines.some((l) => l.msg === warning)).toBe(false);
    });
  });

  it('refuses a name over 64 UTF-16 units or with a lone surrogate, as every stored text', async () => {
    await withStandalone({}, async (baseUrl) => {
      const post = (name: string) => fetch(`${baseUrl}/v1/auth/dev-login`, { method: 'POST', body: JSON.stringify({ name }) }).then((r) => r.status);
      expect(await post('\u{1F600}'.repeat(32) + 'a')).toBe(400);
      expect(await post('a\ud800b')).toBe(400);
      expect(await post('a' + '\u{1F600}'.repeat(31) + 'b')).toBe(200);
    });
  });

  it('is off when listening on every interface (HOST=0.0.0.0)', async () => {
    await withStandalone({ HOST: '0.0.0.0' }, async (baseUrl) => {
      await expect(devLogin(baseUrl, 'Anyone')).rejects.toThrow('dev login is disabled');
    });
  });

  it('is on beyond loopback only with DEV_LOGIN=true, and says so at start', async () => {
    await withStandalone({ HOST: '0.0.0.0', DEV_LOGIN: 'true' }, async (baseUrl, lines) => {
      expect((await devLogin(baseUrl, 'Everywhere')).user.id).toBe('everywhere');
      expect(lines.filter((l) => l.msg === warning)).toEqual([expect.objectContaining({ level: 40, host: '0.0.0.0' })]);
    });
  });

  it('can be turned off on loopback too (DEV_LOGIN=false)', async () => {
    await withStandalone({ DEV_LOGIN: 'false' }, async (baseUrl) => {
      await expect(devLogin(baseUrl, 'Nobody')).rejects.toThrow('dev login is disabled');
    });
  });
});

describe('token settings are checked before anything starts', () => {
  const problems = (schema: typeof standaloneEnvSchema | typeof clusterGatewayEnvSchema, env: Record<string, string>): readonly string[] => {
    try {
      loadEnvConfig(schema, env);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // Without loadEnvConfig's "(got ...)" suffix.
      return err.problems.map((p) => p.replace(/ \(got .*\)$/, ''));
    }
  };

  it('a cluster gateway needs JWT_SECRET or an identity provider, and JWT_SECRET for dev login', () => {
    expect(problems(clusterGatewayEnvSchema, {})).toEqual([
      'JWT_SECRET: required in cluster mode unless JWKS_URL or OIDC_ISSUER is set: the HS256 secret all gateways verify tokens with',
    ]);
    expect(problems(clusterGatewayEnvSchema, { OIDC_ISSUER: 'https://id.example' })).toEqual([]);
    expect(problems(clusterGatewayEnvSchema, { JWKS_URL: 'https://id.example/jwks', DEV_LOGIN: 'true' })).toEqual([
      'DEV_LOGIN: needs JWT_SECRET: dev login signs HS256 tokens with it',
    ]);
    expect(loadEnvConfig(clusterGatewayEnvSchema, { JWT_SECRET: 'x'.repeat(32) })).toMatchObject({ HOST: '0.0.0.0', DEV_LOGIN: false });
  });

  it('refuses a dev-login lifetime over TOKEN_MAX_TTL_S, both JWKS_URL and OIDC_ISSUER, a HOST that is not an IP, and a non-http JWKS_URL', () => {
    expect(problems(standaloneEnvSchema, { DEV_TOKEN_TTL_S: '7200', TOKEN_MAX_TTL_S: '3600' })).toEqual([
      'DEV_TOKEN_TTL_S: must not exceed TOKEN_MAX_TTL_S (3600): dev login would issue tokens the gateway refuses',
    ]);
    expect(problems(standaloneEnvSchema, { JWKS_URL: 'https://a.example/jwks', OIDC_ISSUER: 'https://a.example' })).toEqual([
      'JWKS_URL: set JWKS_URL or OIDC_ISSUER, not both (OIDC_ISSUER finds its JWKS by itself)',
    ]);
    expect(problems(standaloneEnvSchema, { HOST: 'localhost' })[0]).toMatch(/^HOST: expected an IP address to listen on/);
    expect(problems(standaloneEnvSchema, { JWKS_URL: 'ftp://a.example/jwks' })[0]).toMatch(/^JWKS_URL: expected an http\(s\) URL/);
    expect(loadEnvConfig(standaloneEnvSchema, {})).toMatchObject({ HOST: '127.0.0.1', DEV_LOGIN: undefined, TOKEN_MAX_TTL_S: 30 * 24 * 3600 });
  });

  it('does not start when the identity provider\'s keys cannot be fetched, naming the URL', async () => {
    const dir = tempDir();
    try {
      const idp = await TestIdentityProvider.start();
      idp.jwksStatus = 503;
      await expect(startStandalone(silentLogger(), { PORT: '0', GRPC_PORT: 'off', DATA_DIR: dir.path, JWKS_URL: idp.jwksUrl })).rejects.toThrow(
        `cannot fetch the JSON Web Key Set from ${idp.jwksUrl}: HTTP 503`,
      );
      await idp.stop();
    } finally {
      dir.remove();
    }
  });
});
