import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARDS } from '@chat/proto';
import { DEFAULT_LEASE_TTL_MS } from '../roles/cluster-env.js';
import { useCluster } from './cluster-fixture.js';
import { formatIdleCost, measureIdleCost } from './idle-cost.js';

const { start } = useCluster();

/** Measurement window; IDLE_COST_WINDOW_MS=60000 for a report-grade number. */
const WINDOW_MS = Number(process.env.IDLE_COST_WINDOW_MS ?? 15_000);

describe('cluster: fixed costs', () => {
  it('an idle cluster at default settings (2 gateways, 3 actor hosts, presence, nats-server) spends little', async () => {
    // Default shard count and lease TTL: the fixture's short test leases would overstate the cost.
    const c = await start(2, 3, { env: { SHARDS: String(DEFAULT_SHARDS), LEASE_TTL_MS: String(DEFAULT_LEASE_TTL_MS) } });
    // Let the start-up hand-offs settle before measuring.
    await new Promise((r) => setTimeout(r, 2 * DEFAULT_LEASE_TTL_MS));
    const cost = await measureIdleCost(c, WINDOW_MS);
    console.log(formatIdleCost(cost));
    expect(cost.processes).toHaveLength(7);
  }, WINDOW_MS + 90_000);
});
