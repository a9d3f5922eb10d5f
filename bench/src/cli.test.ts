import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from './cli.js';

/** The verdict and measurement options: defaults per scenario, the old --p99-limit name, bad values. */

describe('parseOptions', () => {
  it('defaults to a 100 ms target, and a 3 s warm-up except for connections', () => {
    expect(parseOptions(['dm-latency'])).toMatchObject({ p99Ms: 100, warmup: 3, serverPids: [], serverPorts: [] });
    expect(parseOptions(['max-throughput'])).toMatchObject({ p99Ms: 100, warmup: 3 });
    expect(parseOptions(['connections'])).toMatchObject({ p99Ms: 100, warmup: 0 });
  });

  it('takes --p99-ms, --warmup, --server-pid and --server-port', () => {
    const o = parseOptions(['group-fanout', '--p99-ms', '25', '--warmup', '0', '--server-pid', '10,20', '--server-port', '4222']);
    expect(o).toMatchObject({ p99Ms: 25, warmup: 0, serverPids: [10, 20], serverPorts: [4222] });
  });

  it('keeps --p99-limit as the old name of --p99-ms, but not both with different values', () => {
    expect(parseOptions(['max-throughput', '--p99-limit', '50']).p99Ms).toBe(50);
    expect(parseOptions(['max-throughput', '--p99-limit', '50', '--p99-ms', '50']).p99Ms).toBe(50);
    expect(() => parseOptions(['max-throughput', '--p99-limit', '50', '--p99-ms', '60'])).toThrow(/old name of --p99-ms/);
  });

  it('rejects a target of zero, a negative warm-up and pids that are not whole numbers', () => {
    expect(() => parseOptions(['dm-latency', '--p99-ms', '0'])).toThrow(UsageError);
    expect(() => parseOptions(['dm-latency', '--warmup', '-1'])).toThrow(/--warmup/);
    expect(() => parseOptions(['dm-latency', '--server-pid', '12.5'])).toThrow(/whole numbers/);
    expect(() => parseOptions(['dm-latency', '--server-port', '70000'])).toThrow(/--server-port/);
  });

  it("reaches each gateway's /readyz and /metrics on --ops-url (a cluster gateway's OPS_PORT), else on --url as standalone serves them", () => {
    const standalone = parseOptions(['dm-latency', '--url', 'http://127.0.0.1:8080']);
    expect(standalone).toMatchObject({ opsUrls: ['http://127.0.0.1:8080'], metricsUrls: ['http://127.0.0.1:8080'] });
    const cluster = parseOptions(['dm-latency', '--url', 'http://a:8080,http://b:8080', '--ops-url', 'http://a:9101,http://b:9101', '--metrics-url', 'http://c:9100']);
    expect(cluster).toMatchObject({ urls: ['http://a:8080', 'http://b:8080'], opsUrls: ['http://a:9101', 'http://b:9101'], metricsUrls: ['http://a:9101', 'http://b:9101', 'http://c:9100'] });
    expect(() => parseOptions(['dm-latency', '--url', 'http://a:8080,http://b:8080', '--ops-url', 'http://a:9101'])).toThrow(/one URL per --url gateway \(2\), got 1/);
  });
});
