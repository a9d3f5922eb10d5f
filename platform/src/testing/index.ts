export * from './nats-server.js';
export * from './redis-server.js';
export { freePort } from './server-process.js';
export { capturingLogger, type LogLine } from './capturing-logger.js';
