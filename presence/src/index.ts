export * from './presence-backend.js';
export * from './memory-presence-backend.js';
export * from './presence-service.js';
export * from './config.js';
