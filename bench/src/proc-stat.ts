import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Reads a process's CPU time from Linux's /proc/<pid>/stat, so the bench can
 * measure what the server processes themselves spent (every thread, the
 * SQLite writer included) without asking them, and name them for the table.
 */

/** A process's /proc entry could not be read (gone, not Linux, or not ours to read). */
export class ProcReadError extends Error {
  constructor(
    readonly pid: number,
    readonly file: string,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    // ENOENT is the common case (the process exited, or a wrong pid): say so instead of quoting the path twice.
    super(`cannot read ${file}: ${code === 'ENOENT' ? 'no such process' : cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ProcReadError';
  }
}

/** The fields of /proc/<pid>/stat the bench uses. */
export interface ProcStat {
  pid: number;
  /** The executable's name as the kernel keeps it (at most 15 characters). */
  comm: string;
  /** Field 14: time in user mode, clock ticks, all threads. */
  utimeTicks: number;
  /** Field 15: time in kernel mode, clock ticks, all threads. */
  stimeTicks: number;
}

/**
 * Parses one /proc/<pid>/stat line. The name (field 2) is in parentheses and
 * may itself contain spaces and parentheses, so fields are counted from the
 * last `)`: the next one is field 3 (state), hence utime (14) is the 12th.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new SyntaxError(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new SyntaxError(`no utime/stime in /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), utimeTicks: utime, stimeTicks: stime };
}

let ticks: number | undefined;

/**
 * Clock ticks per second (`getconf CLK_TCK`), asked once. It is 100 on
 * practically every Linux build, which is also the fallback when getconf is
 * missing.
 */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      ticks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of `pid` in seconds. Throws ProcReadError if the process cannot be read. */
export function readCpuSeconds(pid: number, procRoot = '/proc'): number {
  const file = `${procRoot}/${pid}/stat`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ProcReadError(pid, file, err);
  }
  const s = parseStat(text);
  return (s.utimeTicks + s.stimeTicks) / clockTicksPerSecond();
}

/**
 * A short, readable name: `comm` plus, for a Node process, its script and
 * arguments (`node chat.mjs gateway`), which tells the cluster's roles apart.
 * Falls back to `pid <n>` when nothing can be read.
 */
export function describeProcess(pid: number, procRoot = '/proc'): string {
  let comm = '';
  try {
    comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
  } catch {
    return `pid ${pid}`;
  }
  let argv: string[] = [];
  try {
    argv = readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    // comm alone will do
  }
  return nameFromArgv(comm, argv);
}

/** `comm`, or for an interpreter (node), the script's base name and what follows it, shortened. */
export function nameFromArgv(comm: string, argv: string[]): string {
  const script = argv.slice(1).findIndex((a) => !a.startsWith('-'));
  if (comm !== 'node' || script < 0) return comm || basename(argv[0] ?? '');
  const words = [comm, basename(argv[script + 1]!), ...argv.slice(script + 2)].join(' ');
  return words.length > 48 ? `${words.slice(0, 47)}…` : words;
}
