import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { JavaNotFoundError } from './errors.js';

/** The Java release the node is started with, and its JVM options are written for (conf/jvm17-server.options). */
export const JAVA_RELEASE = 17;

/** A `java` binary that runs, and its major release. */
export interface Java {
  readonly binary: string;
  readonly release: number;
}

/**
 * Finds the `java` to start the node with: $JAVA_HOME/bin/java when JAVA_HOME
 * is set, else `java` on PATH. Cassandra 5.0 supports Java 11 and 17; the
 * options here are 17's, so anything older is refused rather than failing
 * later on an unknown --add-opens.
 */
export function findJava(env: NodeJS.ProcessEnv = process.env): Java {
  const binary = env['JAVA_HOME'] ? join(env['JAVA_HOME'], 'bin', 'java') : 'java';
  const run = spawnSync(binary, ['-version'], { encoding: 'utf8', timeout: 30_000 });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new JavaNotFoundError(missing ? `${binary} not found` : `${binary} -version failed: ${run.error.message}`, { cause: run.error });
  }
  // `java -version` writes to stderr: openjdk version "17.0.15" 2025-04-15 (or "1.8.0_392" before Java 9).
  const match = /version "(\d+)(?:\.(\d+))?/.exec(run.stderr);
  if (!match) throw new JavaNotFoundError(`cannot read the version from ${binary} -version: ${run.stderr.trim().split('\n')[0] ?? ''}`);
  const release = match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (release < JAVA_RELEASE) throw new JavaNotFoundError(`${binary} is Java ${release}`);
  return { binary, release };
}
