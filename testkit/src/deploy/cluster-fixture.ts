import { afterEach, expect } from 'vitest';
import { ChatClient } from './chat-client.js';
import { tempDir } from './system-under-test.js';
import { type Sender, type SteadyLoad, fullHistory } from './cluster-load.js';
import { LocalCluster, type LocalClusterOptions } from '@chat/deploy';

export const LEASE_TTL_MS = 2000;
// Gateways stop at once (no drain hold or spread) unless a test asks for them.
const ENV = { SHARDS: '32', LEASE_TTL_MS: String(LEASE_TTL_MS), LOG_LEVEL: 'warn', REQUEST_RETRY_MS: '8000', DRAIN_HOLD_MS: '0', DRAIN_SPREAD_MS: '0' };

/**
 * Test fixture for cluster integration tests: starts a LocalCluster of real
 * processes with short leases, logs clients in, builds sender groups, and
 * tears everything down after each test.
 */
export function useCluster() {
  let cluster: LocalCluster | undefined;
  const dirs: { remove(): void }[] = [];
  const clients: ChatClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await cluster?.stop();
    cluster = undefined;
    for (const d of dirs.splice(0)) d.remove();
  });

  const start = async (
    gateways: number,
    actors: number,
    options: {
      redis?: boolean;
      presence?: number;
      env?: Record<string, string>;
      observability?: { intervalSeconds?: number };
      /** A secured nats-server and each role's credentials (see LocalClusterOptions). */
      natsConfig?: LocalClusterOptions['natsConfig'];
      roleEnv?: LocalClusterOptions['roleEnv'];
      /** nats-servers in one JetStream cluster (LocalClusterOptions.natsNodes). */
      natsNodes?: number;
      /** The nats-server's max_payload (LocalClusterOptions.natsMaxPayload). */
      natsMaxPayload?: number;
    } = {},
  ): Promise<LocalCluster> => {
    const dir = tempDir('chat-cluster-');
    dirs.push(dir);
    cluster = await LocalCluster.start({
      gateways,
      actors,
      dataDir: dir.path,
      env: { ...ENV, ...options.env },
      ...(options.redis ? { redis: true } : {}),
      ...(options.presence ? { presence: options.presence } : {}),
      ...(options.observability ? { observability: options.observability } : {}),
      ...(options.natsConfig ? { natsConfig: options.natsConfig } : {}),
      ...(options.roleEnv ? { roleEnv: options.roleEnv } : {}),
      ...(options.natsNodes ? { natsNodes: options.natsNodes } : {}),
      ...(options.natsMaxPayload ? { natsMaxPayload: options.natsMaxPayload } : {}),
    });
    return cluster;
  };

  const track = <T extends ChatClient>(c: T): T => {
    clients.push(c);
    return c;
  };

  const login = async (url: string, name: string) => track(await ChatClient.login(url, name));

  /** `count` senders spread over the gateways, each in a group with a partner on another gateway. */
  const senders = async (c: LocalCluster, count: number, tag: string): Promise<Sender[]> => {
    const out: Sender[] = [];
    for (let i = 0; i < count; i++) {
      const gw = c.gateways[i % c.gateways.length]!;
      const other = c.gateways[(i + 1) % c.gateways.length]!;
      const client = await login(gw.url, `${tag} sender ${i}`);
      const partner = await login(other.url, `${tag} partner ${i}`);
      const { conversation } = await client.call<{ conversation: { id: string } }>('conversation.create_group', {
        title: `${tag} ${i}`,
        members: [partner.user.id],
      });
      out.push({ client, conversationId: conversation.id });
    }
    return out;
  };

  return { start, login, track, senders };
}

/**
 * Every acknowledged message is in history exactly once with the seq its ack
 * named, each conversation's seqs are exactly 1..n, and retries answered as
 * duplicates name the original seq. A placeholder (a deleted message with no
 * clientMsgId: a seq whose rows died with a Scylla store's host, sealed by the
 * next owner) is refused unless `allowPlaceholders`. Returns how many acks
 * were checked; `onPlaceholders` gets how many placeholders were seen.
 */
export async function expectNothingLostOrDoubled(
  load: SteadyLoad,
  list: Sender[],
  options: { reader?: (s: Sender) => ChatClient; allowPlaceholders?: boolean; onPlaceholders?: (count: number) => void } = {},
): Promise<number> {
  const acked = load.acked();
  let total = 0;
  let placeholders = 0;
  for (const s of list) {
    const history = await fullHistory(options.reader?.(s) ?? s.client, s.conversationId);
    expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
    const real = history.filter((m) => m.clientMsgId !== '');
    placeholders += history.length - real.length;
    const ids = real.map((m) => m.clientMsgId);
    expect(new Set(ids).size).toBe(ids.length);
    const bySeq = new Map(real.map((m) => [m.clientMsgId, m.seq]));
    for (const r of acked.values()) {
      if (r.conversationId !== s.conversationId) continue;
      expect(bySeq.get(r.clientMsgId), `acknowledged ${r.clientMsgId} is in history with its seq`).toBe(r.seq);
      total++;
    }
    for (const r of load.records) if (r.ok && r.conversationId === s.conversationId) expect(bySeq.get(r.clientMsgId)).toBe(r.seq);
  }
  if (!options.allowPlaceholders) expect(placeholders, 'placeholders in history').toBe(0);
  options.onPlaceholders?.(placeholders);
  return total;
}

/**
 * For each sender's conversation that stalled at `at` (no ack within 300 ms
 * after it), how long until its first ack after `at`, in ms.
 */
export function stallsAfter(load: SteadyLoad, list: Sender[], at: number): number[] {
  const acks = [...load.acked().values()];
  return list
    .map((s) => {
      const after = acks.filter((r) => r.conversationId === s.conversationId && r.answeredAt > at);
      return (after.length === 0 ? at : Math.min(...after.map((r) => r.answeredAt))) - at;
    })
    .filter((ms) => ms > 300);
}
