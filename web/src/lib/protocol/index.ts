export * from './types.js';
export * from './observable.js';
export * from './backoff.js';
export * from './connection.js';
export * from './auth.js';
