// An in-memory CQL emulator for testing the ScyllaDB store without a node:
// Cassandra's semantics for the subset of CQL the store uses, ScyllaDB's
// data-modelling rules enforced strictly. See emulated-cluster.ts for what it
// models and what it does not. Typical use:
//
//   const cluster = new EmulatedCluster();
//   await cluster.client().execute("CREATE KEYSPACE chat WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
//   await applyMigrations(cluster.client({ keyspace: 'chat' }), loadMigrations());
//   const store = await openScyllaStore(options, (_o, to) => cluster.client(to.keyspace ? { keyspace: 'chat' } : {}));
//   ...
//   expect(cluster.violations).toEqual([]);
export { EmulatedCluster, type EmulatedClusterOptions, type Fault, type FaultHandle, type LogEntry, type StatementKind } from './emulated-cluster.js';
export { EmulatedClient, type BatchQuery } from './emulated-client.js';
export type { LwtResultShape } from './cql-lwt.js';
export { parseCql } from './cql-parser.js';
