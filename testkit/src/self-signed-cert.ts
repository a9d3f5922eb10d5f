import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key as PEM files in `dir`, and the certificate's bytes (for a client's trusted roots). */
export interface SelfSignedCert {
  certPath: string;
  keyPath: string;
  cert: Buffer;
}

/**
 * Makes a self-signed certificate for localhost and 127.0.0.1 with openssl
 * (valid one day, RSA 2048, no passphrase) in `dir`, named `<name>.crt` and `<name>.key`.
 */
export function selfSignedCert(dir: string, name = 'server'): SelfSignedCert {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath],
    { stdio: 'pipe' },
  );
  return { certPath, keyPath, cert: readFileSync(certPath) };
}
