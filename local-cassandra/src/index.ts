export { type CassandraNode, type CassandraNodeOptions, LOCAL_DATA_CENTER, startCassandraNode } from './cassandra-node.js';
export { CASSANDRA_VERSION, defaultCacheDir, resolveCassandraJars, type ResolveOptions } from './maven-artifacts.js';
export { JAVA_RELEASE, findJava } from './java.js';
export { CassandraStartError, JavaNotFoundError, LocalCassandraError, MavenNotFoundError, MavenResolveError, PortTakenError } from './errors.js';
