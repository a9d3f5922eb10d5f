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
//
// Or served over the CQL native protocol v4, for the real driver (a dev
// command, or tests of the driver's own behaviour): see server/cql-server.ts.
//
//   const server = await startCqlServer({ cluster });   // 127.0.0.1, a free port
//   // SCYLLA_CONTACT_POINTS=127.0.0.1:${server.port} -> createScyllaClient(...) as for a node
//   await server.close();
export { EmulatedCluster, type EmulatedClusterOptions, type Fault, type FaultHandle, type LogEntry, type StatementKind } from './emulated-cluster.js';
export { EmulatedClient, type BatchQuery } from './emulated-client.js';
export type { LwtResultShape } from './cql-lwt.js';
export { parseCql } from './cql-parser.js';
export { startCqlServer, type CqlServer, type CqlServerOptions, type UnreachableMode } from './server/cql-server.js';
