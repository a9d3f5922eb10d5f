import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARDS } from '@chat/proto';
import { DEFAULT_LEASE_TTL_MS } from '../roles/cluster-env.js';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { formatIdleCost, measureIdleCost } from '@chat/testkit/idle-cost';

const { start } = useCluster();

/** Measurement window; IDLE_COST_WINDOW_MS=60000 for a report-grade number. */
const WINDOW_MS = Number(process.env.IDLE_COST_WINDOW_MS ?? 15_000);
const ACTOR_HOSTS = 3;
/**
 * What idle leases may send: each host renews its lease and lists the host leases once a round
 * (half the TTL), so 2 messages per host per round; twice that leaves room for timing. A lease per
 * shard (256 renewals a round) or a consumer per listing (2 more API requests) fails these.
 */
const ROUND_S = DEFAULT_LEASE_TTL_MS / 2 / 1000;
const MAX_NATS_MSGS_PER_SEC = (2 * (2 * ACTOR_HOSTS)) / ROUND_S;
const MAX_JETSTREAM_API_PER_SEC = (2 * ACTOR_HOSTS) / ROUND_S;

describe('cluster: fixed costs', () => {
  it(`an idle cluster at default settings sends at most ${MAX_NATS_MSGS_PER_SEC} messages/s to nats-server, ${MAX_JETSTREAM_API_PER_SEC} of them JetStream API requests, and reports its CPU`, async () => {
    // Default shard count and lease TTL: the fixture's short test leases would overstate the cost.
    const c = await start(2, ACTOR_HOSTS, { env: { SHARDS: String(DEFAULT_SHARDS), LEASE_TTL_MS: String(DEFAULT_LEASE_TTL_MS) } });
    // Let the start-up hand-offs settle before measuring.
    await new Promise((r) => setTimeout(r, 2 * DEFAULT_LEASE_TTL_MS));
    const cost = await measureIdleCost(c, WINDOW_MS);
    // CPU is printed, not asserted: on a shared machine it varies by a factor of two from run to run.
    console.log(formatIdleCost(cost));
    expect(cost.processes.map((p) => p.name).sort()).toEqual(['actors-1', 'actors-2', 'actors-3', 'gateway-1', 'gateway-2', 'nats-server', 'presence']);
    expect(cost.natsInMsgsPerSec).toBeLessThanOrEqual(MAX_NATS_MSGS_PER_SEC);
    expect(cost.jetStreamApiPerSec).toBeLessThanOrEqual(MAX_JETSTREAM_API_PER_SEC);
  }, WINDOW_MS + 90_000);
});
