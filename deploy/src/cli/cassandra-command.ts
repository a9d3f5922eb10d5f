import { readdirSync } from 'node:fs';
import { CASSANDRA_VERSION, resolveCassandraJars, startCassandraNode } from '@chat/local-cassandra';
import type { RunningSystem } from '../roles/standalone.js';

/**
 * `chat cassandra` (`npm run cassandra`): one Apache Cassandra node in the
 * foreground for trying STORE=scylla, on 127.0.0.1:$CASSANDRA_PORT (9042),
 * its data in a temporary directory that goes when it stops. Prints the
 * contact point, then `ready` once a CQL client can connect.
 */
export async function startCassandraCommand(env: NodeJS.ProcessEnv = process.env): Promise<RunningSystem> {
  const port = Number(env['CASSANDRA_PORT'] ?? 9042);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`CASSANDRA_PORT must be a port number, got ${env['CASSANDRA_PORT']}`);
  const heap = env['CASSANDRA_HEAP'] ?? '1g';
  if (!/^\d+[kmg]$/i.test(heap)) throw new RangeError(`CASSANDRA_HEAP must be a JVM size such as 512m or 1g, got ${heap}`);
  const node = await startCassandraNode({ cqlPort: port, heap, log: (line) => console.log(`cassandra: ${line}`) });
  console.log(`cassandra: Cassandra ${node.releaseVersion} at ${node.contactPoint} (data in ${node.dir}, log ${node.logFile})`);
  console.log(`  SCYLLA_CONTACT_POINTS=${node.contactPoint} npx chat migrate`);
  console.log(`  STORE=scylla SCYLLA_CONTACT_POINTS=${node.contactPoint} npx chat standalone`);
  console.log('ready');
  let stopping = false;
  void node.exited.then(({ code, signal }) => {
    if (stopping) return;
    console.error(`cassandra: the node exited on its own (${signal ?? `code ${code}`}); see ${node.logFile}`);
    process.exit(1);
  });
  return {
    port,
    stop: () => {
      stopping = true;
      return node.stop();
    },
  };
}

/**
 * `chat cassandra --resolve-only`: resolves the node's jars from Maven Central
 * into the cache and exits, so CI fetches them as a step of its own, with its
 * own log line and time, rather than inside the first test that needs a node.
 */
export async function resolveCassandraJarsCommand(): Promise<string> {
  const started = performance.now();
  const lib = await resolveCassandraJars({ log: (line) => console.log(`cassandra: ${line}`) });
  const jars = readdirSync(lib).filter((f) => f.endsWith('.jar')).length;
  return `Cassandra ${CASSANDRA_VERSION}: ${jars} jars in ${lib} (${((performance.now() - started) / 1000).toFixed(1)} s)`;
}
