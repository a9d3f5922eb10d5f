import { readFileSync } from 'node:fs';

/**
 * The warnings and errors a Cassandra node logged after its start (batch too
 * large, tombstones, LWT contention, dropped messages, ...), each distinct
 * message once with how often it came: what the run made the node unhappy
 * about, which passing tests would not show. Start-up checks (jemalloc,
 * read-ahead, JMX) are left out: they are about the machine, not the store.
 */
export function nodeWarnings(logFile: string): { count: number; distinct: Map<string, number> } {
  const lines = readFileSync(logFile, 'utf8').split('\n');
  const started = lines.findIndex((l) => l.includes('Startup complete'));
  const distinct = new Map<string, number>();
  let count = 0;
  for (const line of lines.slice(started + 1)) {
    // logback pattern (jvm-options.ts): LEVEL [thread] date time File.java:line - message
    const m = /^(WARN|ERROR)\s+\[[^\]]*\]\s+\S+\s+\S+\s+(\S+) - (.*)$/.exec(line);
    if (!m) continue;
    count++;
    // Numbers vary per occurrence (sizes, ids, timings): count a message by its shape.
    const key = `${m[1]} ${m[2]} ${m[3]!.replace(/\d+/g, 'N')}`.slice(0, 300);
    distinct.set(key, (distinct.get(key) ?? 0) + 1);
  }
  return { count, distinct };
}
