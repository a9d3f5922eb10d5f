import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@chat/platform';
import { DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT, fdHeadroom, readOpenFileLimit, resolveMaxConnections } from './open-file-limit.js';

const dir = mkdtempSync(join(tmpdir(), 'open-file-limit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function limitsFile(line: string): string {
  const path = join(dir, `limits-${Math.random()}`);
  writeFileSync(path, `Limit                     Soft Limit           Hard Limit           Units\nMax processes             96369                96369                processes\n${line}\n`);
  return path;
}

describe('the open-file limit', () => {
  it("reads this process's soft limit, the one `ulimit -Sn` of a child shows (Node raised it to the hard one at start)", () => {
    const limit = readOpenFileLimit();
    expect(limit).toBe(Number(execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim()));
  });

  it('takes the soft column, and is unknown where the file is missing, unlimited or unparsable', () => {
    expect(readOpenFileLimit(limitsFile('Max open files            400                  4096                 files'))).toBe(400);
    expect(readOpenFileLimit(limitsFile('Max open files            unlimited            unlimited            files'))).toBeUndefined();
    expect(readOpenFileLimit(limitsFile('Max nothing'))).toBeUndefined();
    expect(readOpenFileLimit(join(dir, 'absent'))).toBeUndefined();
  });
});

describe('MAX_CONNECTIONS', () => {
  it('defaults to the limit less max(256, 5%)', () => {
    expect(fdHeadroom(400)).toBe(256);
    expect(fdHeadroom(20_000)).toBe(1000);
    expect(resolveMaxConnections(undefined, 20_000)).toEqual({ max: 19_000, openFileLimit: 20_000, derived: true });
    expect(resolveMaxConnections(undefined, 400)).toEqual({ max: 144, openFileLimit: 400, derived: true });
    expect(resolveMaxConnections(undefined, 1_048_576).max).toBe(1_048_576 - 52_429);
  });

  it('takes a value within what the limit allows, and refuses one above it naming the variable', () => {
    expect(resolveMaxConnections(50, 400)).toEqual({ max: 50, openFileLimit: 400, derived: false });
    expect(resolveMaxConnections(144, 400).max).toBe(144);
    expect(() => resolveMaxConnections(145, 400)).toThrow(ConfigError);
    expect(() => resolveMaxConnections(20_000, 20_000)).toThrow(/^invalid configuration:\n {2}MAX_CONNECTIONS: 20000 is more than the open-file limit \(20000\) allows: at most 19000/);
  });

  it('refuses to start when the limit leaves no room for sessions', () => {
    expect(() => resolveMaxConnections(undefined, 256)).toThrow(/MAX_CONNECTIONS: the open-file limit \(256\) leaves no room/);
  });

  it('where the limit is unknown, takes a set value as it is and defaults to a fixed number', () => {
    expect(resolveMaxConnections(123_456, undefined)).toEqual({ max: 123_456, openFileLimit: undefined, derived: false });
    expect(resolveMaxConnections(undefined, undefined)).toEqual({ max: DEFAULT_MAX_CONNECTIONS_UNKNOWN_LIMIT, openFileLimit: undefined, derived: true });
  });
});
