/** Options of jvmOptions(). */
export interface JvmOptionsInput {
  /** Heap size for -Xms and -Xmx, e.g. `512m`. */
  heap: string;
  /** The node's cassandra.yaml. */
  configFile: string;
  /** The logback configuration (logback.xml) the node logs with. */
  logbackFile: string;
  /** The node's temporary directory (cassandra.storagedir, cassandra.logdir below it). */
  dir: string;
}

/**
 * Java 17 needs these to let Cassandra 5.0 reach JDK internals it uses
 * (off-heap memory, direct buffers, the attach API, ...): the JPMS section of
 * Cassandra's conf/jvm17-server.options, which bin/cassandra would otherwise
 * add. Without them the daemon fails early with InaccessibleObjectException.
 */
export const JAVA17_MODULE_OPTIONS: readonly string[] = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED',
  '--add-exports=java.sql/java.sql=ALL-UNNAMED',
  '--add-exports=java.base/java.lang.ref=ALL-UNNAMED',
  '--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.math=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.module=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '-Djdk.attach.allowAttachSelf=true',
];

/**
 * The JVM options of a local node: a small fixed heap (the machine is shared),
 * G1 as Cassandra 5.0 ships it for Java 17, the module options above, and the
 * system properties bin/cassandra would set. JMX stays off (no
 * cassandra.jmx.*.port), so two nodes on one machine never fight over 7199.
 */
export function jvmOptions(input: JvmOptionsInput): string[] {
  return [
    `-Xms${input.heap}`,
    `-Xmx${input.heap}`,
    '-Xss256k',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=300',
    // Assertions as Cassandra runs them (on, except in the chronicle libraries, which exhaust memory with them).
    '-ea',
    '-da:net.openhft...',
    // A node that ran out of memory must stop, not limp on with corrupt state.
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.net.preferIPv4Stack=true',
    '-Dio.netty.tryReflectionSetAccessible=true',
    ...JAVA17_MODULE_OPTIONS,
    `-Dcassandra.config=file://${input.configFile}`,
    `-Dlogback.configurationFile=file://${input.logbackFile}`,
    `-Dcassandra.storagedir=${input.dir}`,
    `-Dcassandra.logdir=${input.dir}/logs`,
    // An empty triggers folder of its own (the default, conf/triggers, does not exist here and draws a warning).
    `-Dcassandra.triggers_dir=${input.dir}/triggers`,
    '-Dcassandra-foreground=yes',
    // One node: there is no gossip to settle and no ring to wait for.
    '-Dcassandra.skip_wait_for_gossip_to_settle=0',
    '-Dcassandra.ring_delay_ms=0',
  ];
}

/**
 * Logging to stdout at INFO (the launcher writes the node's stdout to a file),
 * without Cassandra's debug log and its rotation: enough to explain a failed
 * start, little enough to cost nothing.
 */
export const LOGBACK_XML = `<configuration>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="STDOUT"/></root>
</configuration>
`;
