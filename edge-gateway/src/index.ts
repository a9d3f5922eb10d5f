export { Gateway, type GatewayOptions } from './gateway.js';
export { HmacTokenAuthority, type TokenVerifier, type AuthenticatedUser, devUserIdFor, extractToken } from './auth/token-authority.js';
export { gatewayEnvSchema, type GatewayEnv, checkTokenSettings, isLoopbackHost, DEFAULT_HOST, envHost, envDevLogin } from './config.js';
export { JwtVerifier, type JwtVerifierOptions, type TokenPolicy, DEFAULT_TOKEN_MAX_TTL_S, DEFAULT_CLOCK_SKEW_S } from './auth/jwt-verifier.js';
export { JwksKeySet, type PublicKeySource, type VerificationKey } from './auth/jwks-key-set.js';
export { discoverJwksUri, discoveryUrlOf } from './auth/oidc-discovery.js';
export { startTokenVerification, type TokenVerification, type TokenSettings } from './auth/token-verification.js';
export { TokenRejectedError, type TokenRejection, IdentityProviderError } from './auth/token-rejection.js';
export * from './errors.js';
export { loadGrpcTls, type GrpcTls } from './grpc/grpc-tls.js';
export { type CallTokenVerifier, type CallAuthenticator, type AuthenticatedCall, botCallVerifier } from './grpc/call-authenticator.js';
export { cachedTokenVerifier } from './grpc/cached-token-verifier.js';
export { GRPC_STATUS_OF } from './grpc/status-codes.js';
export {
  BotTokenVerifier,
  type AuthenticatedBot,
  type BotTokenBackend,
  type BotTokenWatch,
  DEFAULT_RECHECK_MS,
  DEFAULT_VERIFY_BUDGET_MS,
  authenticateBearer,
} from './auth/bot-tokens.js';
export { BackendClient } from './routing/backend-client.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './routing/lane.js';
export { GatewayMetrics } from './metrics.js';
export { type ConnectionLimit, DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT, fdHeadroom, readOpenFileLimit, resolveMaxConnections } from './session/open-file-limit.js';
