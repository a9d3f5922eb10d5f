import { type CassandraNode, LOCAL_DATA_CENTER, findJava, startCassandraNode } from '@chat/local-cassandra';
import type { TestProject } from 'vitest/node';
import type { LiveCql } from './live-cql.js';
import { nodeWarnings } from './node-warnings.js';

/**
 * vitest global setup: one CQL server for the whole run, shared by every live
 * store suite (each in a keyspace of its own). SCYLLA_CONTACT_POINTS, when
 * set, names a cluster to use instead (a ScyllaDB from deploy/compose). Else
 * a local Cassandra node is started once (about 10 s; the jars come from the
 * Maven cache) and stopped after the last test. Without Java the live suites
 * are skipped, and this says so in capitals at the start and at the end of
 * the run (unless LIVE_CQL_REQUIRED=1, as in CI: then the run fails); with
 * Java, a node that fails to start fails the run. LIVE_CQL=off skips them
 * the same loud way without starting a node, for a quick run of other suites.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['SCYLLA_CONTACT_POINTS'];
  if (external) {
    provide(project, { contactPoints: external, localDataCenter: process.env['SCYLLA_LOCAL_DC'] ?? LOCAL_DATA_CENTER, server: `SCYLLA_CONTACT_POINTS=${external}` });
    return async () => undefined;
  }
  try {
    if (process.env['LIVE_CQL'] === 'off') throw new Error('LIVE_CQL=off says not to start one');
    findJava();
  } catch (err) {
    // CI sets this: there, a skipped live suite is a failed run, not a warning.
    if (process.env['LIVE_CQL_REQUIRED'] === '1') throw err;
    const reason = `no local Cassandra node: ${(err as Error).message}`;
    const banner = () => console.warn(`\n${'!'.repeat(100)}\nLIVE STORE SUITES SKIPPED (ScyllaDB store contract, chat migrate, standalone and cluster on a real CQL node):\n${reason}\n${'!'.repeat(100)}\n`);
    banner();
    provide(project, { skipped: reason });
    return async () => banner();
  }
  const started = performance.now();
  const node: CassandraNode = await startCassandraNode({ heap: '512m', log: (line) => console.log(`[live-cql] ${line}`) });
  console.log(`[live-cql] Cassandra ${node.releaseVersion} at ${node.contactPoint} answered CQL ${((performance.now() - started) / 1000).toFixed(1)} s after start`);
  provide(project, { contactPoints: node.contactPoint, localDataCenter: LOCAL_DATA_CENTER, server: `local Cassandra ${node.releaseVersion}` });
  return async () => {
    const { count, distinct } = nodeWarnings(node.logFile);
    console.log(`[live-cql] Cassandra logged ${count} warnings or errors during the run${count ? ':' : ''}`);
    for (const [message, n] of [...distinct].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`[live-cql]   ${n}x ${message}`);
    const stopping = performance.now();
    await node.stop();
    console.log(`[live-cql] Cassandra stopped in ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  };
}

function provide(project: TestProject, value: LiveCql): void {
  project.provide('liveCql', value);
}
