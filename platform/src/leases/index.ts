export * from './lease-table.js';
export * from './nats-kv-lease-table.js';
export * from './shared-settings.js';
export * from './bucket-replicas.js';
