export * from './change-feed.js';
export * from './nats-change-stream.js';
export * from './nats-change-feed.js';
export * from './nats-change-follower.js';
