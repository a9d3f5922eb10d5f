import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Authenticator, credsAuthenticator, tokenAuthenticator, usernamePasswordAuthenticator } from 'nats';
import { ConfigError } from '../errors.js';

/** The NATS_* security settings as parsed from the environment (unset = undefined). */
export interface NatsSecurityEnv {
  NATS_CREDS?: string | undefined;
  NATS_USER?: string | undefined;
  NATS_PASSWORD?: string | undefined;
  NATS_TOKEN?: string | undefined;
  NATS_TLS_CA?: string | undefined;
  NATS_TLS_CERT?: string | undefined;
  NATS_TLS_KEY?: string | undefined;
}

/** How a connection proves who it is; `describe` names it for messages (never the secret). */
export interface NatsAuth {
  authenticator: Authenticator;
  /** e.g. `the creds file /etc/chat/gateway.creds (NATS_CREDS)`. */
  describe: string;
}

/** TLS files, read by nats.js at each (re)connect so replaced files are picked up. */
export interface NatsTls {
  /** CA certificate(s) the server's certificate must chain to. */
  caFile?: string;
  /** Client certificate and its key, for servers that verify clients. */
  certFile?: string;
  keyFile?: string;
}

/** What {@link loadNatsSecurity} returns: pass both to connectNatsBus. */
export interface NatsSecurity {
  auth: NatsAuth | undefined;
  tls: NatsTls | undefined;
}

/**
 * Checks the NATS_* security settings before anything starts and turns them
 * into connection options. Throws ConfigError naming the variable (and the
 * path) when more than one way of authenticating is set, NATS_USER and
 * NATS_PASSWORD are not set together, NATS_TLS_CERT and NATS_TLS_KEY are not
 * set together, or a file cannot be read or is not what the variable says.
 * Nothing set: no credentials and plain TCP (TLS only if the server demands it).
 */
export function loadNatsSecurity(env: NatsSecurityEnv): NatsSecurity {
  return { auth: loadAuth(env), tls: loadTls(env) };
}

function loadAuth(env: NatsSecurityEnv): NatsAuth | undefined {
  const methods = [
    env.NATS_CREDS !== undefined && 'NATS_CREDS',
    (env.NATS_USER !== undefined || env.NATS_PASSWORD !== undefined) && 'NATS_USER/NATS_PASSWORD',
    env.NATS_TOKEN !== undefined && 'NATS_TOKEN',
  ].filter((m): m is string => m !== false);
  if (methods.length > 1) throw new ConfigError([`${methods.join(', ')}: set one way of authenticating to NATS, not ${methods.length}`]);
  if (env.NATS_CREDS !== undefined) {
    const path = env.NATS_CREDS;
    const text = readText('NATS_CREDS', path);
    // The two blocks `nsc` writes: the user JWT and its nkey seed (a seed alone is not a creds file).
    if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
      throw new ConfigError([`NATS_CREDS: ${path} is not a NATS creds file (expected a user JWT and a user nkey seed)`]);
    }
    // Read again at each (re)connect, so a rotated creds file is used without a restart.
    return { authenticator: credsAuthenticator(() => readFileSync(path)), describe: `the creds file ${path} (NATS_CREDS)` };
  }
  if (env.NATS_USER !== undefined || env.NATS_PASSWORD !== undefined) {
    if (env.NATS_USER === undefined) throw new ConfigError(['NATS_USER: required when NATS_PASSWORD is set (set both or neither)']);
    if (env.NATS_PASSWORD === undefined) throw new ConfigError(['NATS_PASSWORD: required when NATS_USER is set (set both or neither)']);
    return { authenticator: usernamePasswordAuthenticator(env.NATS_USER, env.NATS_PASSWORD), describe: `user ${JSON.stringify(env.NATS_USER)} (NATS_USER)` };
  }
  if (env.NATS_TOKEN !== undefined) return { authenticator: tokenAuthenticator(env.NATS_TOKEN), describe: 'a token (NATS_TOKEN)' };
  return undefined;
}

function loadTls(env: NatsSecurityEnv): NatsTls | undefined {
  const { NATS_TLS_CA: ca, NATS_TLS_CERT: cert, NATS_TLS_KEY: key } = env;
  if (cert === undefined && key !== undefined) throw new ConfigError(['NATS_TLS_CERT: required when NATS_TLS_KEY is set (set both or neither)']);
  if (key === undefined && cert !== undefined) throw new ConfigError(['NATS_TLS_KEY: required when NATS_TLS_CERT is set (set both or neither)']);
  if (ca === undefined && cert === undefined) return undefined;
  const tls: NatsTls = {};
  if (ca !== undefined) {
    certificateIn('NATS_TLS_CA', ca);
    tls.caFile = ca;
  }
  if (cert !== undefined && key !== undefined) {
    const x509 = certificateIn('NATS_TLS_CERT', cert);
    let privateKey;
    try {
      privateKey = createPrivateKey(readText('NATS_TLS_KEY', key));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError([`NATS_TLS_KEY: ${key} is not a PEM private key`], { cause: err });
    }
    if (!x509.checkPrivateKey(privateKey)) throw new ConfigError([`NATS_TLS_KEY: ${key} is not the private key of the certificate in NATS_TLS_CERT`]);
    tls.certFile = cert;
    tls.keyFile = key;
  }
  return tls;
}

function certificateIn(name: string, path: string): X509Certificate {
  const pem = readText(name, path);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError([`${name}: ${path} is not a PEM certificate`], { cause: err });
  }
}

function readText(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${name}: cannot read ${path}: ${(err as Error).message}`], { cause: err });
  }
}
