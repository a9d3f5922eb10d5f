import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@chat/platform';

/** The PEM certificate chain and private key the gRPC server serves TLS with. */
export interface GrpcTls {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks GRPC_TLS_CERT and GRPC_TLS_KEY (file paths) before
 * anything starts: both or neither, readable, a PEM certificate, a PEM private
 * key, and the key must be the certificate's. Undefined when neither is set
 * (plaintext). Throws ConfigError naming the variable otherwise.
 */
export function loadGrpcTls(certPath: string | undefined, keyPath: string | undefined): GrpcTls | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined) throw new ConfigError(['GRPC_TLS_CERT: required when GRPC_TLS_KEY is set (set both or neither)']);
  if (keyPath === undefined) throw new ConfigError(['GRPC_TLS_KEY: required when GRPC_TLS_CERT is set (set both or neither)']);
  const cert = readPem('GRPC_TLS_CERT', certPath);
  const key = readPem('GRPC_TLS_KEY', keyPath);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError([`GRPC_TLS_CERT: ${certPath} is not a PEM certificate`], { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError([`GRPC_TLS_KEY: ${keyPath} is not a PEM private key`], { cause: err });
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ConfigError([`GRPC_TLS_KEY: ${keyPath} is not the private key of the certificate in GRPC_TLS_CERT`]);
  return { cert, key };
}

function readPem(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([`${name}: cannot read ${path}: ${(err as Error).message}`], { cause: err });
  }
}
