import type { JetStreamManager } from 'nats';
import { ConfigError, LeaseUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * What nats-server answers when it cannot place a stream's replicas (no
 * cluster, or fewer JetStream servers than replicas): these JetStream API
 * error codes, or, where the code is not passed on, these words.
 */
const CANNOT_PLACE_CODES: ReadonlySet<number> = new Set([10005, 10023, 10074]);
const CANNOT_PLACE = /replicas > 1 not supported|insufficient resources|no suitable peers/i;

/** Whether `err` (or its cause) says the NATS servers cannot hold that many replicas. */
export function isReplicaPlacementError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { api_error?: { err_code?: number } }).api_error?.err_code;
    if ((code !== undefined && CANNOT_PLACE_CODES.has(code)) || CANNOT_PLACE.test(e instanceof Error ? e.message : String(e))) return true;
  }
  return false;
}

/**
 * The ConfigError to throw when a bucket or stream with `replicas` replicas
 * could not be placed: the setting is wrong for the NATS servers it runs on.
 */
export function replicaPlacementError(setting: string, replicas: number, what: string, cause: unknown): ConfigError {
  return new ConfigError(
    [`${setting}=${replicas}: NATS cannot keep ${replicas} replicas of ${what}; it needs a NATS cluster with at least ${replicas} JetStream servers (use 1 on a single server)`],
    { cause },
  );
}

/**
 * Brings the JetStream KV bucket `bucket` to `replicas` replicas when it has
 * another number (a bucket created before the setting changed, or by a
 * process with another value): JetStream moves the data while the bucket
 * stays usable. Returns whether it changed anything. Throws ConfigError
 * (naming `setting`) when the servers cannot hold that many, and
 * LeaseUnavailableError when NATS does not answer.
 */
export async function ensureBucketReplicas(
  jsm: JetStreamManager,
  o: { bucket: string; replicas: number; setting: string; logger: Logger },
): Promise<boolean> {
  const stream = `KV_${o.bucket}`;
  let config;
  try {
    config = (await jsm.streams.info(stream)).config;
  } catch (err) {
    throw new LeaseUnavailableError(`cannot read the settings of bucket ${o.bucket}`, { cause: err });
  }
  if (config.num_replicas === o.replicas) return false;
  try {
    await jsm.streams.update(stream, { ...config, num_replicas: o.replicas });
  } catch (err) {
    if (isReplicaPlacementError(err)) throw replicaPlacementError(o.setting, o.replicas, `bucket ${o.bucket}`, err);
    throw new LeaseUnavailableError(`cannot change bucket ${o.bucket} to ${o.replicas} replicas`, { cause: err });
  }
  o.logger.warn({ bucket: o.bucket, from: config.num_replicas, to: o.replicas, setting: o.setting }, 'bucket replicas changed to the configured number');
  return true;
}
