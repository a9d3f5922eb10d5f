import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KeyPair, createAccount, createOperator, createUser } from 'nkeys.js';

/** A PEM certificate and its key, as files. */
export interface CertFiles {
  certPath: string;
  keyPath: string;
}

/** What a TLS test of NATS needs, all under one directory. */
export interface NatsCertificates {
  /** The CA that signed `server` and `client`. */
  caPath: string;
  /** The server's certificate, for localhost and 127.0.0.1. */
  server: CertFiles;
  /** A client certificate signed by the CA. */
  client: CertFiles;
  /** A CA that signed nothing here: a client trusting only it refuses the server. */
  otherCaPath: string;
}

/**
 * Makes a test PKI with openssl in `dir` (valid one day, EC P-256, no
 * passphrases): a CA, a server certificate for localhost/127.0.0.1 and a
 * client certificate signed by it, and an unrelated second CA.
 */
export function natsCertificates(dir: string): NatsCertificates {
  const caPath = makeCa(dir, 'ca');
  const otherCaPath = makeCa(dir, 'other-ca');
  return {
    caPath,
    otherCaPath,
    server: signed(dir, 'server', '/CN=localhost', ['subjectAltName=DNS:localhost,IP:127.0.0.1', 'extendedKeyUsage=serverAuth']),
    client: signed(dir, 'client', '/CN=chat-client', ['extendedKeyUsage=clientAuth']),
  };
}

function makeCa(dir: string, name: string): string {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', keyPath, '-out', certPath]);
  return certPath;
}

function signed(dir: string, name: string, subject: string, extensions: string[]): CertFiles {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  writeFileSync(extPath, `${extensions.join('\n')}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-keyout', keyPath, '-out', csrPath]);
  openssl(['x509', '-req', '-in', csrPath, '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', extPath, '-out', certPath]);
  return { certPath, keyPath };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/**
 * A NATS operator with one account, for a server in operator (JWT) mode:
 * `serverConfig()` is the configuration block naming both, and `userCreds()`
 * writes a creds file (user JWT + nkey seed) for a new user of the account,
 * as `nsc` would.
 */
export class NatsOperator {
  readonly #operator: KeyPair = createOperator();
  readonly #account: KeyPair = createAccount();

  /** `operator`, `resolver: MEMORY` and the account's JWT preloaded. */
  serverConfig(): string {
    const operatorKey = publicKey(this.#operator);
    const accountKey = publicKey(this.#account);
    const operatorJwt = signJwt(this.#operator, { sub: operatorKey, name: 'test-operator', nats: { type: 'operator', version: 2 } });
    const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
    const accountJwt = signJwt(this.#operator, { sub: accountKey, name: 'chat', nats: { type: 'account', version: 2, limits: unlimited } });
    return `operator: ${operatorJwt}\nresolver: MEMORY\nresolver_preload: {\n  ${accountKey}: ${accountJwt}\n}\n`;
  }

  /** Writes `<dir>/<name>.creds` for a new user of the account and returns its path. */
  userCreds(dir: string, name: string): string {
    const user = createUser();
    const jwt = signJwt(this.#account, { sub: publicKey(user), name, nats: { type: 'user', version: 2, pub: {}, sub: {}, subs: -1, data: -1, payload: -1 } });
    const path = join(dir, `${name}.creds`);
    const seed = new TextDecoder().decode(user.getSeed());
    writeFileSync(
      path,
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n` + `-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
      { mode: 0o600 },
    );
    return path;
  }
}

function publicKey(kp: KeyPair): string {
  return kp.getPublicKey();
}

/** A NATS v2 JWT: ed25519-nkey signature by `issuer` over base64url header and claims. */
function signJwt(issuer: KeyPair, claims: { sub: string; name: string; nats: Record<string, unknown> }): string {
  const body: Record<string, unknown> = { jti: '', iat: Math.floor(Date.now() / 1000), iss: publicKey(issuer), ...claims };
  // A unique id; nats-server checks the signature and the claims, not how jti was made.
  body.jti = createHash('sha256').update(JSON.stringify(body)).digest('base64url').toUpperCase();
  const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const payload = b64url(JSON.stringify(body));
  const sig = Buffer.from(issuer.sign(new TextEncoder().encode(`${head}.${payload}`))).toString('base64url');
  return `${head}.${payload}.${sig}`;
}

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
