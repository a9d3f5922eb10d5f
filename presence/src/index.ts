export * from './presence-backend.js';
export * from './memory-presence-backend.js';
export * from './presence-service.js';
export * from './config.js';
export * from './redis-presence-backend.js';
export * from './errors.js';
export * from './presence-backend-factory.js';
