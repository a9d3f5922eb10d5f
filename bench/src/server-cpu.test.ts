import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcNetTcp, pidsListeningOn } from './listening-pid.js';
import { clockTicksPerSecond, nameFromArgv, parseStat, ProcReadError, readCpuSeconds } from './proc-stat.js';
import { isLocalHost, ServerCpu } from './server-cpu.js';

/**
 * The /proc readers behind "server CPU per message": parsing against fixed
 * text, and the lookups against this very test process (its CPU, and a socket
 * it listens on), so they are checked on the real kernel interface.
 */

describe('parseStat', () => {
  it('reads utime and stime (fields 14 and 15) after a name with spaces and parentheses', () => {
    const line = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 2000 18446744073709551615';
    expect(parseStat(line)).toEqual({ pid: 4242, comm: 'my (odd) name', utimeTicks: 1234, stimeTicks: 567 });
  });

  it('rejects text that is not a stat line', () => {
    expect(() => parseStat('no parentheses here')).toThrow(SyntaxError);
    expect(() => parseStat('1 (short) S 1 2')).toThrow(/no utime\/stime/);
  });
});

describe('readCpuSeconds', () => {
  it("grows with this process's own CPU use", () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
    const before = readCpuSeconds(process.pid);
    // Burn at least 100 ms of CPU (by the kernel's own count), 10 ticks at 100 Hz.
    const start = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(start).user < 100_000) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    expect(readCpuSeconds(process.pid)).toBeGreaterThan(before);
  });

  it('throws a ProcReadError naming the pid for a process that does not exist', () => {
    expect(() => readCpuSeconds(2 ** 31 - 1)).toThrow(ProcReadError);
    expect(() => readCpuSeconds(2 ** 31 - 1)).toThrow(/2147483647\/stat: no such process/);
  });
});

describe('nameFromArgv', () => {
  it("names a node process by its script and arguments, anything else by comm", () => {
    expect(nameFromArgv('node', ['/usr/bin/node', '--enable-source-maps', '/x/deploy/bin/chat.mjs', 'gateway'])).toBe('node chat.mjs gateway');
    expect(nameFromArgv('nats-server', ['/usr/sbin/nats-server', '-p', '4222'])).toBe('nats-server');
  });
});

describe('parseProcNetTcp', () => {
  it('reads port, state and inode of IPv4 and IPv6 rows', () => {
    const v4 = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 98765 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 98766 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseProcNetTcp(v4)).toEqual([
      { localAddress: '0100007F', localPort: 8080, listening: true, inode: 98765 },
      { localAddress: '0100007F', localPort: 8080, listening: false, inode: 98766 },
    ]);
    const v6 = '   0: 00000000000000000000000001000000:1112 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5178 1 0 100 0 0 10 0';
    expect(parseProcNetTcp(v6)).toEqual([{ localAddress: '00000000000000000000000001000000', localPort: 4370, listening: true, inode: 5178 }]);
  });
});

describe('finding the process behind a port', () => {
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('finds this process listening on its port', () => {
    const scan = pidsListeningOn(port);
    expect(scan.listening).toBe(true);
    expect(scan.pids).toEqual([process.pid]);
  });

  it('finds nothing on a port where nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freed = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(pidsListeningOn(freed)).toMatchObject({ listening: false, pids: [] });
  });

  it('measures local URLs and pids once each, and explains what it cannot measure', async () => {
    const cpu = await ServerCpu.find({
      urls: [`http://127.0.0.1:${port}`, `http://localhost:${port}`, 'http://192.0.2.1:8080'],
      ports: [],
      pids: [process.pid, 2 ** 31 - 1],
    });
    expect(cpu.processes.map((p) => p.pid)).toEqual([process.pid]);
    expect(cpu.processes[0]!.sources).toEqual([`http://127.0.0.1:${port}`, `http://localhost:${port}`, '--server-pid']);
    expect(cpu.problems).toHaveLength(2);
    expect(cpu.problems[0]).toMatch(/192\.0\.2\.1:8080: not this machine/);
    expect(cpu.problems[1]).toMatch(/--server-pid 2147483647: .*no such process/);

    const start = cpu.read();
    const t = process.cpuUsage();
    while (process.cpuUsage(t).user < 50_000);
    const report = cpu.report(start, cpu.read(), 1000, 'delivered message');
    expect(report.totalSeconds).toBeGreaterThan(0);
    expect(report.usPerDelivered).toBeCloseTo((report.totalSeconds! * 1e6) / 1000, 0);
    expect(report.notMeasured).toEqual(cpu.problems);
    // Nothing delivered: no per-message figure rather than a division by zero.
    expect(cpu.report(start, cpu.read(), 0, 'delivered message').usPerDelivered).toBeNull();
  });

  it('tells local hosts from remote ones', async () => {
    expect(await isLocalHost('localhost')).toBe(true);
    expect(await isLocalHost('127.0.0.1')).toBe(true);
    expect(await isLocalHost('[::1]')).toBe(true);
    expect(await isLocalHost('192.0.2.1')).toBe(false);
  });
});
