// Real nats-server, redis-server and prometheus child processes on 127.0.0.1,
// each with a temporary directory: what `chat cluster` (../cluster/local-cluster.ts)
// starts, and what testkit hands the tests that need a real server.
export { type NatsClusterMembership, type NatsServerOptions, type NatsServerProcess, startNatsServer } from './nats-server.js';
export { type NatsCluster, type NatsClusterOptions, singleServerCluster, startNatsCluster } from './nats-cluster.js';
export { type PrometheusServerOptions, type PrometheusServerProcess, type ScrapeTarget, prometheusConfig, startPrometheusServer } from './prometheus-server.js';
export { type RedisSentinelOptions, type RedisServerProcess, startRedisSentinel, startRedisServer } from './redis-server.js';
export { type ServerProcess, type ServerSpec, findBinary, freePort, startServerProcess } from './server-process.js';
