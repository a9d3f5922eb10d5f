import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small tmpfs of the test's own, to fill up (a real full disk) and free again. */
export interface SmallDisk {
  /** Where it is mounted. */
  readonly path: string;
  /** Writes a file until the file system refuses with ENOSPC: the disk is full. */
  fill(): void;
  /** Removes what fill() wrote: the space is back. */
  free(): void;
  /** Unmounts it and removes the mount point (everything on it is gone). */
  unmount(): void;
}

const FILLER = 'filler';

/**
 * Mounts a tmpfs of `sizeBytes` on a fresh directory; where mounting is not
 * permitted (not root, or in a container without the capability) returns
 * why instead, so a test can skip, saying so, rather than fail.
 */
export function mountSmallDisk(sizeBytes: number): { disk: SmallDisk; skipReason?: undefined } | { disk?: undefined; skipReason: string } {
  const path = mkdtempSync(join(tmpdir(), 'chat-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (err) {
    rmSync(path, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { skipReason: `cannot mount a tmpfs: ${stderr || (err instanceof Error ? err.message : String(err))}` };
  }
  const filler = join(path, FILLER);
  let mounted = true;
  const disk: SmallDisk = {
    path,
    fill() {
      const fd = openSync(filler, 'a');
      try {
        // Ever smaller writes, until not even one byte fits.
        for (let size = 64 * 1024; size >= 1; size = Math.floor(size / 2)) {
          const chunk = Buffer.alloc(size);
          for (;;) {
            try {
              writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', [path], { stdio: 'pipe' });
      rmSync(path, { recursive: true, force: true });
    },
  };
  return { disk };
}
