import type { KV, NatsConnection } from 'nats';
import { ConfigError, LeaseUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isWrongLastSequence } from './kv-errors.js';

/** Name of the KV bucket holding the settings every process of the cluster behind `leaseBucket` must share. */
export function settingsBucketOf(leaseBucket: string): string {
  return `${leaseBucket}_settings`;
}

const KEY = 'shared';
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Settings whose values every actor host (and, for SHARDS, every gateway) must agree on. */
export type SharedSettings = Readonly<Record<string, number>>;

interface Stored {
  settings: Record<string, number>;
  by: string;
}

export interface CheckSharedSettingsOptions {
  connection: NatsConnection;
  leaseBucket: string;
  /** This process's values of the shared settings it uses (a gateway: SHARDS only). */
  mine: SharedSettings;
  /** Who is asking, named in messages and stored with the values it records. */
  who: string;
  logger: Logger;
  /**
   * Actor hosts record the cluster's values: the first host stores them, and a
   * host may replace them when no other host is alive (the cluster was
   * stopped to change them). Absent (gateways): only compares.
   */
  recorder?: { anyHostAlive(): Promise<boolean> };
  requestTimeoutMs?: number;
  /** JetStream replicas of the bucket when the recorder creates it (LEASE_REPLICAS). Default 1. */
  replicas?: number;
}

/**
 * Refuses to start a process whose shared settings disagree with the running
 * cluster's: two SHARDS values route one conversation to two owners, and two
 * LEASE_TTL_MS values break the lease timing that fencing relies on. Throws
 * ConfigError naming each setting with both values. The values live in a
 * JetStream KV bucket of their own (no TTL, one key).
 */
export async function checkSharedSettings(o: CheckSharedSettingsOptions): Promise<void> {
  const bucket = settingsBucketOf(o.leaseBucket);
  const timeout = o.requestTimeoutMs ?? 5000;
  let kv: KV;
  try {
    // A gateway binds only: it has nothing to compare with until an actor host created the bucket.
    kv = await o.connection.jetstream({ timeout }).views.kv(bucket, o.recorder ? { history: 1, replicas: o.replicas ?? 1 } : { bindOnly: true });
  } catch (err) {
    if (!o.recorder) return;
    throw new LeaseUnavailableError(`cannot open the shared settings bucket ${bucket} (is JetStream enabled on the NATS server?)`, { cause: err });
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const entry = await kv.get(KEY).catch((err: unknown) => {
      throw new LeaseUnavailableError(`cannot read the shared settings in ${bucket}`, { cause: err });
    });
    const stored = entry && entry.operation === 'PUT' ? (JSON.parse(decoder.decode(entry.value)) as Stored) : undefined;
    if (!stored) {
      if (!o.recorder) return;
      try {
        await kv.create(KEY, encoder.encode(JSON.stringify({ settings: o.mine, by: o.who } satisfies Stored)));
        o.logger.info({ settings: o.mine }, 'recorded the cluster’s shared settings');
        return;
      } catch (err) {
        if (isWrongLastSequence(err)) continue; // another host recorded them first: compare with theirs
        throw new LeaseUnavailableError(`cannot record the shared settings in ${bucket}`, { cause: err });
      }
    }
    const differences = Object.entries(o.mine)
      .filter(([name, value]) => stored.settings[name] !== undefined && stored.settings[name] !== value)
      .map(([name, value]) => `${name} is ${value} here but ${stored.settings[name]} in the running cluster (recorded by ${stored.by}); every process of a cluster must use the same ${name}`);
    if (differences.length === 0) {
      // A setting this build shares that the record lacks (recorded by an older build): add it, so later hosts are held to it.
      const missing = Object.keys(o.mine).filter((name) => stored.settings[name] === undefined);
      if (!o.recorder || missing.length === 0) return;
      try {
        await kv.update(KEY, encoder.encode(JSON.stringify({ settings: { ...stored.settings, ...o.mine }, by: stored.by } satisfies Stored)), entry!.revision);
        o.logger.info({ added: missing }, 'recorded the shared settings an older build did not');
        return;
      } catch (err) {
        if (isWrongLastSequence(err)) continue; // another host wrote them meanwhile: compare again
        throw new LeaseUnavailableError(`cannot record the shared settings in ${bucket}`, { cause: err });
      }
    }
    if (o.recorder && !(await o.recorder.anyHostAlive())) {
      // The whole cluster was stopped to change them: this host's values are the new ones.
      try {
        await kv.update(KEY, encoder.encode(JSON.stringify({ settings: { ...stored.settings, ...o.mine }, by: o.who } satisfies Stored)), entry!.revision);
        o.logger.warn({ before: stored.settings, now: o.mine }, 'shared settings changed while no actor host was running');
        return;
      } catch (err) {
        if (isWrongLastSequence(err)) continue; // another host changed them meanwhile: compare again
        throw new LeaseUnavailableError(`cannot record the shared settings in ${bucket}`, { cause: err });
      }
    }
    throw new ConfigError(differences);
  }
  throw new LeaseUnavailableError(`the shared settings in ${bucket} kept changing while this process checked them`);
}
