import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Finds the process listening on a local TCP port, the way `ss -ltnp` does:
 * the kernel lists sockets in /proc/net/tcp and tcp6 (port and inode), and
 * each process's open descriptors in /proc/<pid>/fd link to `socket:[inode]`.
 * The bench uses it to measure the CPU of the servers it is pointed at
 * without being told their pids.
 */

/** The `st` column of /proc/net/tcp for a listening socket (TCP_LISTEN). */
const LISTEN = '0A';

/** One row of /proc/net/tcp or /proc/net/tcp6. */
export interface TcpSocket {
  /** The local address as the kernel prints it (hex, host byte order per 32-bit word). */
  localAddress: string;
  localPort: number;
  listening: boolean;
  inode: number;
}

/** Parses /proc/net/tcp or /proc/net/tcp6 (the header line and malformed lines are skipped). */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
    if (f.length < 10 || !/^\d+:$/.test(f[0]!)) continue;
    const [address, port] = f[1]!.split(':');
    const inode = Number(f[9]);
    if (!address || !port || !Number.isInteger(inode)) continue;
    out.push({ localAddress: address, localPort: parseInt(port, 16), listening: f[3] === LISTEN, inode });
  }
  return out;
}

/** Inodes of the sockets listening on `port`, IPv4 and IPv6. */
export function listeningInodes(port: number, procRoot = '/proc'): Set<number> {
  const inodes = new Set<number>();
  for (const file of ['net/tcp', 'net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/${file}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel, or not Linux: nothing listens there
    }
    // inode 0: a socket being torn down, owned by no process.
    for (const s of parseProcNetTcp(text)) if (s.listening && s.localPort === port && s.inode > 0) inodes.add(s.inode);
  }
  return inodes;
}

/** What a scan of /proc found. */
export interface PidScan {
  pids: number[];
  /** Processes whose descriptors could not be listed (other users' processes, unless we are root). */
  unreadable: number;
}

/** The processes holding any of the socket `inodes` open, in pid order. */
export function pidsHoldingSockets(inodes: Set<number>, procRoot = '/proc'): PidScan {
  const found = new Set<number>();
  let unreadable = 0;
  if (inodes.size === 0) return { pids: [], unreadable };
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  for (const entry of readdirSync(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${entry}/fd`);
    } catch {
      unreadable++; // EACCES (not ours) or ENOENT (exited since readdir)
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${entry}/fd/${fd}`);
      } catch {
        continue; // closed since readdir
      }
      if (wanted.has(target)) {
        found.add(Number(entry));
        break;
      }
    }
  }
  return { pids: [...found].sort((a, b) => a - b), unreadable };
}

/**
 * The pids listening on local TCP `port`: usually one; several when a
 * listening socket is shared by forked processes. Empty when nothing listens
 * or the listener belongs to a process we may not inspect (see `unreadable`).
 */
export function pidsListeningOn(port: number, procRoot = '/proc'): PidScan & { listening: boolean } {
  const inodes = listeningInodes(port, procRoot);
  return { ...pidsHoldingSockets(inodes, procRoot), listening: inodes.size > 0 };
}
