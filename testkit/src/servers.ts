// The real nats-server and redis-server child processes tests start: the
// product's own module (what `chat cluster` starts), reused as it is.
export { type NatsServerProcess, type RedisServerProcess, type ServerProcess, freePort, startNatsServer, startRedisServer } from '@chat/deploy/local-servers';
