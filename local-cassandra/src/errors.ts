/**
 * What can go wrong bringing up a local Cassandra node. Each error says what
 * was wrong and what to do, and keeps the underlying failure as its cause:
 * the launcher is run by people at a terminal and by CI, where the message is
 * all they get.
 */
export abstract class LocalCassandraError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No usable `java` (missing, or older than the node needs). */
export class JavaNotFoundError extends LocalCassandraError {
  constructor(readonly detail: string, options?: { cause?: unknown }) {
    super(`Java 17 is needed to run Cassandra: ${detail} (Debian: apt-get install openjdk-17-jre-headless, or set JAVA_HOME)`, options);
  }
}

/** `mvn` is missing and the jars are not in the cache yet. */
export class MavenNotFoundError extends LocalCassandraError {
  constructor(readonly libDir: string, options?: { cause?: unknown }) {
    super(`mvn not found on PATH, and Cassandra's jars are not cached in ${libDir} yet (Debian: apt-get install maven)`, options);
  }
}

/** Maven ran but did not resolve the artifacts; `refused` holds its error lines (which artifact, which repository). */
export class MavenResolveError extends LocalCassandraError {
  constructor(
    readonly artifact: string,
    readonly refused: string,
    options?: { cause?: unknown },
  ) {
    super(`Maven could not resolve ${artifact} and its runtime dependencies:\n${refused}`, options);
  }
}

/** The CQL port asked for is already in use on 127.0.0.1. */
export class PortTakenError extends LocalCassandraError {
  constructor(readonly port: number, options?: { cause?: unknown }) {
    super(`port ${port} on 127.0.0.1 is already in use: stop what listens there or choose another port (CASSANDRA_PORT)`, options);
  }
}

/** The node exited, or did not accept CQL connections in time, while starting; `logTail` is the end of its log. */
export class CassandraStartError extends LocalCassandraError {
  constructor(
    readonly reason: string,
    readonly logFile: string,
    readonly logTail: string,
    options?: { cause?: unknown },
  ) {
    super(`Cassandra ${reason}; the end of its log (${logFile}):\n${logTail}`, options);
  }
}
