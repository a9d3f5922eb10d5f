export { Gateway, type GatewayOptions } from './gateway.js';
export { HmacTokenAuthority, type TokenVerifier, type AuthenticatedUser, devUserIdFor, extractToken } from './auth/token-authority.js';
export { gatewayEnvSchema, type GatewayEnv } from './config.js';
export * from './errors.js';
