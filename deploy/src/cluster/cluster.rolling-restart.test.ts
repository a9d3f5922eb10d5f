import { describe, expect, it } from 'vitest';
import { useCluster } from '@chat/testkit/cluster-fixture';
import { SyncingClient } from '@chat/testkit/syncing-client';

const { start: startCluster } = useCluster();

/** Clients connected through the restarts (issue 16 asks for 2,000); ROLLING_CLIENTS overrides it for a quick run. */
const CLIENTS = Number(process.env.ROLLING_CLIENTS ?? 2000);
/** DM pairs among them that keep sending, one message a second each, through both restarts. */
const SENDERS = 100;
const HOLD_MS = 2000;
const SPREAD_MS = 3000;

async function inChunks<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => make(i + k)))));
  return out;
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What a load balancer (or Kubernetes endpoints) does: polls every gateway's
 * /readyz every 250 ms and sends new connections round-robin to those that
 * answered 200, so a gateway holding before it stops gets no newcomers.
 */
class ReadinessBalancer {
  #ready: string[];
  #next = 0;
  readonly #timer: NodeJS.Timeout;
  readonly urls: string[];

  /** `gateways`: each one's public URL, and its ops URL where /readyz answers. */
  constructor(readonly gateways: { url: string; opsUrl: string }[]) {
    this.urls = gateways.map((g) => g.url);
    this.#ready = [...this.urls];
    this.#timer = setInterval(() => void this.#poll(), 250);
  }

  pick(): string {
    const from = this.#ready.length > 0 ? this.#ready : this.urls;
    return from[this.#next++ % from.length]!;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    const states = await Promise.all(this.gateways.map((g) => fetch(`${g.opsUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)));
    this.#ready = this.urls.filter((_, i) => states[i]);
  }
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};

describe('cluster: a rolling restart of the gateways', () => {
  it(`restarts both gateways one after the other under load with ${CLIENTS} clients: nothing acknowledged is lost, every client comes back and catches up`, { timeout: 600_000 }, async () => {
    const c = await startCluster(2, 2, { env: { DRAIN_HOLD_MS: String(HOLD_MS), DRAIN_SPREAD_MS: String(SPREAD_MS) } });
    const balancer = new ReadinessBalancer(c.gateways.map((g) => ({ url: g.url, opsUrl: g.opsUrl })));
    const clients = await inChunks(CLIENTS, 50, (i) => SyncingClient.start(c.gateways[0]!.url, `Roll ${i}`, () => balancer.pick()));
    const pairs = await Promise.all(
      Array.from({ length: SENDERS }, async (_, p) => {
        const [sender, receiver] = [clients[2 * p]!, clients[2 * p + 1]!];
        const { conversation } = await sender.connection.request('conversation.open_dm', { userId: receiver.credentials.user.id });
        return { sender, receiver, conversationId: conversation.id };
      }),
    );

    // Senders retry a send with the same clientMsgId until it is acknowledged, as the web client does.
    const acked = new Map<string, number>();
    let sending = true;
    const loops = pairs.map(async ({ sender, conversationId }, p) => {
      for (let n = 0; sending; n++) {
        const clientMsgId = `roll-${p}-${n}`;
        for (;;) {
          try {
            const { message } = await sender.connection.request('message.send', { conversationId, clientMsgId, body: clientMsgId });
            acked.set(`${conversationId}/${clientMsgId}`, message.seq);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });

    await new Promise((r) => setTimeout(r, 2000));
    const restarted: string[] = [];
    for (const gateway of [...c.gateways]) {
      const started = performance.now();
      const fresh = await c.restart(gateway);
      restarted.push(`${gateway.name} → ${fresh.name} in ${Math.round(performance.now() - started)} ms`);
      await until(() => clients.every((x) => x.online && x.synced), 'every client online and synced again', 120_000);
    }
    await new Promise((r) => setTimeout(r, 2000));
    sending = false;
    await Promise.all(loops);

    // Every acknowledged message is stored once with its seq, and reached its receiver (live or by sync).
    for (const { sender, receiver, conversationId } of pairs) {
      const history = (await sender.connection.request('message.history', { conversationId, limit: 200 })).messages;
      expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
      const bySeq = new Map(history.map((m) => [m.clientMsgId, m.seq]));
      for (const [key, seq] of acked) if (key.startsWith(`${conversationId}/`)) expect(bySeq.get(key.slice(conversationId.length + 1))).toBe(seq);
      await until(() => history.every((m) => receiver.seen.get(conversationId)?.has(m.seq)), `the receiver of ${conversationId} to have every message`, 10_000);
    }

    const reconnects = clients.flatMap((x) => x.reconnects);
    const online = reconnects.map((r) => r.onlineAt - r.closedAt);
    const synced = reconnects.map((r) => r.syncedAt - r.closedAt);
    const report = {
      clients: CLIENTS,
      restarts: restarted,
      acknowledged: acked.size,
      reconnects: reconnects.length,
      closeCodes: [...new Set(reconnects.map((r) => r.closeCode))],
      reconnectMs: { p50: Math.round(quantile(online, 0.5)), p99: Math.round(quantile(online, 0.99)), max: Math.round(Math.max(...online)) },
      reconnectAndSyncMs: { p50: Math.round(quantile(synced, 0.5)), p99: Math.round(quantile(synced, 0.99)), max: Math.round(Math.max(...synced)) },
    };
    console.log(`rolling restart: ${JSON.stringify(report)}`);
    // Each restart closes the sessions on that gateway: about half the clients the first time, and whoever sits on the other one the second.
    expect(reconnects.length).toBeGreaterThanOrEqual(CLIENTS * 0.9);
    expect(report.closeCodes).toEqual([1001]);
    expect(acked.size).toBeGreaterThan(SENDERS * 5);
    for (const x of clients) x.stop();
    balancer.stop();
  });
});
