import { describe, expect, it } from 'vitest';
import { connectNatsBus, settingsBucketOf, silentLogger } from '@chat/platform';
import { type Sender, SteadyLoad } from '@chat/testkit/cluster-load';
import { LEASE_TTL_MS, expectNothingLostOrDoubled, useCluster } from '@chat/testkit/cluster-fixture';
import { restartNatsWithEmptyStore } from '@chat/testkit/servers';
import type { ClusterProcess } from './local-cluster.js';

const { start, senders } = useCluster();

/** How long nats-server stays down: long enough for the readiness probes below to see it. */
const DOWN_MS = 1000;
/** A stall: no ack in a conversation for this long while it is sent to every 50 ms. */
const STALL_MS = 300;

/** Polls every process's /readyz and keeps what each answered when. */
function watchReadiness(processes: ClusterProcess[]) {
  const seen = new Map<string, { at: number; ready: boolean }[]>(processes.map((p) => [p.name, []]));
  let running = true;
  const loops = processes.map(async (p) => {
    while (running) {
      const ready = await fetch(`${p.opsUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      seen.get(p.name)!.push({ at: Date.now(), ready });
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    seen: (name: string) => seen.get(name)!,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * When every conversation is served again after `backAt`: per conversation, the
 * answer time of the ack that ends its last stall (no ack for STALL_MS) that
 * began before `until`; the latest of those, in ms after `backAt`.
 */
function recoveredAfter(load: SteadyLoad, list: Sender[], backAt: number, until: number): number {
  let latest = 0;
  for (const s of list) {
    const acks = [...load.acked().values()].filter((r) => r.conversationId === s.conversationId && r.answeredAt > backAt).map((r) => r.answeredAt);
    acks.sort((a, b) => a - b);
    let previous = backAt;
    for (const at of acks) {
      if (at - previous > STALL_MS && previous < until) latest = Math.max(latest, at - backAt);
      previous = at;
    }
  }
  return latest;
}

describe('cluster: NATS restarted without its JetStream store', () => {
  it(`recreates the lease storage, is serving again within 2 × LEASE_TTL_MS (${2 * LEASE_TTL_MS} ms) of NATS being back, and loses no acknowledged message`, async () => {
    const c = await start(1, 2);
    const list = await senders(c, 6, 'loss');
    const load = new SteadyLoad(list, { intervalMs: 50, retryForMs: 30_000, tag: 'l' }).start();
    const readiness = watchReadiness([...c.gateways, ...c.actorHosts]);
    await new Promise((r) => setTimeout(r, 1000));

    const killedAt = Date.now();
    await restartNatsWithEmptyStore(c.nats, DOWN_MS);
    const backAt = Date.now();

    // Everyone is ready again by itself, and the shards are all owned again, each once.
    await c.waitForShards(20_000);
    for (const p of [...c.gateways, ...c.actorHosts]) {
      const by = Date.now() + 10_000;
      while (readiness.seen(p.name).at(-1)?.ready !== true && Date.now() < by) await new Promise((r) => setTimeout(r, 50));
    }
    // Keep sending a while, so a stall that outlasted the bound shows as one.
    const horizon = backAt + 4 * LEASE_TTL_MS;
    while (Date.now() < horizon + 1000) await new Promise((r) => setTimeout(r, 100));
    await load.stop();
    await readiness.stop();

    const recoveryMs = recoveredAfter(load, list, backAt, horizon);
    console.log(`NATS store loss: NATS down ${backAt - killedAt} ms; every conversation acknowledged again ${recoveryMs} ms after NATS was back (lease TTL ${LEASE_TTL_MS} ms)`);
    for (const p of c.actorHosts) {
      const seen = readiness.seen(p.name);
      const down = seen.find((s) => s.at > killedAt && !s.ready);
      expect(down, `${p.name} not ready after NATS lost its store`).toBeDefined();
      console.log(`NATS store loss: ${p.name} not ready from ${down!.at - killedAt} ms after the kill, ready again ${(seen.find((s) => s.at > down!.at && s.ready)?.at ?? Number.NaN) - backAt} ms after NATS was back`);
      expect(seen.at(-1)?.ready, `${p.name} ready again`).toBe(true);
      // It found the storage gone and recreated it or rejoined the recreated one, and took its shards through the protocol again.
      expect(p.output()).toMatch(/host lease lost|lease storage was lost/);
    }
    const gateway = readiness.seen(c.gateways[0]!.name);
    expect(gateway.some((s) => s.at > killedAt && s.at < backAt && !s.ready), 'gateway not ready while NATS is down').toBe(true);
    expect(gateway.at(-1)?.ready, 'gateway ready again').toBe(true);

    if (recoveryMs > 2 * LEASE_TTL_MS) for (const p of c.actorHosts) console.log(`${p.name} (NATS back at ${new Date(backAt).toISOString()}):\n${p.output()}`);
    expect(recoveryMs, 'every conversation served again within 2 × LEASE_TTL_MS of NATS being back').toBeLessThanOrEqual(2 * LEASE_TTL_MS);
    expect(load.records.filter((r) => !r.ok && r.error !== 'unavailable')).toEqual([]);
    expect(load.acked().size).toBeGreaterThan(100);
    expect(await expectNothingLostOrDoubled(load, list)).toBeGreaterThan(100);

    // The shared settings are recorded again, for gateways and hosts that start later.
    const bus = await connectNatsBus({ servers: c.nats.url, name: 'store-loss-test', logger: silentLogger() });
    try {
      const kv = await bus.connection.jetstream().views.kv(settingsBucketOf('chat_leases'), { bindOnly: true });
      const entry = await kv.get('shared');
      expect(JSON.parse(new TextDecoder().decode(entry!.value))).toMatchObject({ settings: { SHARDS: 32, LEASE_TTL_MS } });
    } finally {
      await bus.close();
    }
  }, 120_000);
});
