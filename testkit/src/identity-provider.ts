import { type KeyObject, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The algorithms a test identity provider signs with. */
export type TestKeyAlg = 'RS256' | 'ES256' | 'EdDSA';

/** A signing key of the test identity provider; its public half is in the JWKS once published. */
export interface TestKey {
  kid: string;
  alg: TestKeyAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/**
 * A real identity provider for tests, on node:http at 127.0.0.1: serves a
 * JSON Web Key Set at /jwks.json and an OpenID Connect discovery document at
 * /.well-known/openid-configuration (its issuer is its origin), counts the
 * requests to each, and signs tokens with its keys (or in the broken ways an
 * attacker would). Keys are published explicitly, so a test can rotate them.
 */
export class TestIdentityProvider {
  /** Requests served, by path. */
  readonly requests = { jwks: 0, discovery: 0 };
  /** When set, the JWKS answers with this HTTP status and no keys (a provider outage). */
  jwksStatus: number | undefined;
  /** Overrides fields of the discovery document (e.g. a wrong issuer). */
  discoveryOverrides: Record<string, unknown> = {};
  readonly #keys = new Map<string, TestKey>();
  readonly #published = new Set<string>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  /** Starts on a free port of 127.0.0.1. */
  static async start(): Promise<TestIdentityProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const provider = new TestIdentityProvider(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => provider.#serve(req.url ?? '/', res));
    return provider;
  }

  get issuer(): string {
    return this.origin;
  }

  get jwksUrl(): string {
    return `${this.origin}/jwks.json`;
  }

  /** Makes a key (not yet published). */
  createKey(alg: TestKeyAlg, kid = `${alg.toLowerCase()}-${this.#keys.size + 1}`): TestKey {
    const pair =
      alg === 'RS256'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : alg === 'ES256'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : generateKeyPairSync('ed25519');
    const key = { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey };
    this.#keys.set(kid, key);
    return key;
  }

  /** Puts the key in the JWKS served from now on. */
  publish(key: TestKey): void {
    this.#published.add(key.kid);
  }

  /** Takes the key out of the JWKS. */
  unpublish(key: TestKey): void {
    this.#published.delete(key.kid);
  }

  /** A token signed with `key`; `header` adds to or overrides {alg, kid, typ}. */
  sign(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
    return signJwt({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }, claims, (input) => signWith(key.alg, key.privateKey, input));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #serve(url: string, res: ServerResponse): void {
    const path = url.split('?')[0];
    if (path === '/jwks.json') {
      this.requests.jwks++;
      if (this.jwksStatus !== undefined) {
        res.writeHead(this.jwksStatus).end('unavailable');
        return;
      }
      const keys = [...this.#published].map((kid) => {
        const key = this.#keys.get(kid)!;
        return { ...key.publicKey.export({ format: 'jwk' }), kid, alg: key.alg, use: 'sig' };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
      return;
    }
    if (path === '/.well-known/openid-configuration') {
      this.requests.discovery++;
      const doc = { issuer: this.issuer, jwks_uri: this.jwksUrl, id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'], ...this.discoveryOverrides };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
      return;
    }
    res.writeHead(404).end('not found');
  }
}

/** A JWT from a header, claims and a signer of its signing input. */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, signer: (input: Buffer) => Buffer): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

/** An HS256 token: with the deployment's secret, or (the algorithm-confusion attack) with a public key's PEM as the "secret". */
export function signHs256(secret: string | Buffer, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return signJwt({ alg: 'HS256', typ: 'JWT', ...header }, claims, (input) => createHmac('sha256', secret).update(input).digest());
}

/** An unsigned token (`alg: none`). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  return signJwt({ alg: 'none', typ: 'JWT' }, claims, () => Buffer.alloc(0));
}

function signWith(alg: TestKeyAlg, key: KeyObject, input: Buffer): Buffer {
  if (alg === 'EdDSA') return sign(null, input, key);
  if (alg === 'ES256') return sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' });
  return sign('sha256', input, key);
}

/** Claims valid now for `sub`, expiring in `ttlS` seconds. */
export function claimsFor(sub: string, extra: Record<string, unknown> = {}, ttlS = 600): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub, iat: now, exp: now + ttlS, ...extra };
}
