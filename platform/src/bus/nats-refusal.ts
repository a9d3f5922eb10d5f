import { ErrorCode, type NatsError } from 'nats';
import { BusRefusedError } from '../errors.js';
import type { NatsAuth, NatsTls } from './nats-security.js';

const AUTH_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.AuthorizationViolation,
  ErrorCode.AuthenticationExpired,
  ErrorCode.AuthenticationTimeout,
  ErrorCode.AccountExpired,
  ErrorCode.BadAuthentication,
  ErrorCode.BadCreds,
]);

/**
 * A connect error that retrying would not fix, as a BusRefusedError naming the
 * cause and what the client tried (never a secret): the server refused the
 * credentials, or TLS failed. Undefined for anything else (nothing listening, ...).
 */
export function refusalOf(
  err: unknown,
  attempt: { where: string; auth: NatsAuth | undefined; tls: NatsTls | undefined; timeoutMs: number },
): BusRefusedError | undefined {
  const { where, auth, tls } = attempt;
  if (!(err instanceof Error)) return undefined;
  const code = String((err as { code?: unknown }).code ?? '');
  if (AUTH_ERRORS.has(code)) {
    const as = auth ? `connecting with ${auth.describe}` : 'connecting without credentials: set NATS_CREDS, NATS_USER and NATS_PASSWORD, or NATS_TOKEN';
    return new BusRefusedError(`NATS at ${where} refused the connection: ${err.message} (${as})`, 'authorization', { cause: err });
  }
  if (code === ErrorCode.ServerOptionNotAvailable && tls) {
    return new BusRefusedError(`TLS with NATS at ${where} failed: the server does not offer TLS, and NATS_TLS_* are set`, 'tls', { cause: err });
  }
  // nats.js's own TLS errors (the server requires TLS, the client refuses it), and Node's certificate and handshake errors.
  if (code === ErrorCode.Tls || /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_)/.test(code) || /\bTLS\b|SSL|certificate/i.test(err.message)) {
    return new BusRefusedError(`TLS with NATS at ${where} failed: ${errorText(err)} (${tlsFiles(tls)})`, 'tls', { cause: err });
  }
  // A server that verifies client certificates rejects a client without one after the handshake, which
  // nats.js does not notice: the connection only times out. Name the likely cause rather than a bare timeout.
  if (code === ErrorCode.Timeout && tls && !tls.certFile) {
    return new BusRefusedError(
      `TLS with NATS at ${where} failed: no answer after the handshake within ${attempt.timeoutMs} ms (${code}); if the server verifies client certificates, set NATS_TLS_CERT and NATS_TLS_KEY`,
      'tls',
      { cause: err },
    );
  }
  return undefined;
}

/** Which certificates the client used, for a TLS failure's message. */
function tlsFiles(tls: NatsTls | undefined): string {
  if (!tls) return 'no NATS_TLS_* set: the server was checked against the system CAs';
  const ca = tls.caFile ? `CA NATS_TLS_CA ${tls.caFile}` : 'the system CAs';
  return tls.certFile ? `${ca}, client certificate NATS_TLS_CERT ${tls.certFile}` : `${ca}, no client certificate`;
}

function errorText(err: Error): string {
  const code = (err as Partial<NatsError>).code;
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
