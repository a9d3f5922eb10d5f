import { DiscardPolicy, type JetStreamManager, type NatsConnection, RetentionPolicy, type StreamConfig, StorageType, nanos } from 'nats';
import { ALL_CHANGES } from '@chat/proto';
import { ChangeFeedUnavailableError } from '../errors.js';
import { isStreamNotFound } from '../leases/kv-errors.js';

/** Name of the JetStream stream holding the change notices. */
export const DEFAULT_CHANGE_STREAM = 'CHAT_CHANGES';
/** How long a notice is kept at most (7 days): a follower down longer than this loses notices (and reconciles). */
export const DEFAULT_CHANGE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** The most the stream keeps (1 GiB, about 20 million notices); the oldest go first. */
export const DEFAULT_CHANGE_MAX_BYTES = 1024 ** 3;

/** The stream's settings; every publisher and follower of one stream must use the same. */
export interface ChangeStreamSettings {
  /** Default DEFAULT_CHANGE_STREAM. */
  stream?: string;
  /** Subjects are `<subjectPrefix>.<shard>`; default `chat.changes` (proto changesSubject). */
  subjectPrefix?: string;
  /** JetStream replicas (1 on a single NATS server). Default 1. */
  replicas?: number;
  maxAgeMs?: number;
  maxBytes?: number;
}

/** The settings with their defaults filled in. */
export type ResolvedChangeStream = Required<ChangeStreamSettings>;

export function resolveChangeStream(settings: ChangeStreamSettings = {}): ResolvedChangeStream {
  return {
    stream: settings.stream ?? DEFAULT_CHANGE_STREAM,
    subjectPrefix: settings.subjectPrefix ?? ALL_CHANGES.slice(0, -2),
    replicas: settings.replicas ?? 1,
    maxAgeMs: settings.maxAgeMs ?? DEFAULT_CHANGE_MAX_AGE_MS,
    maxBytes: settings.maxBytes ?? DEFAULT_CHANGE_MAX_BYTES,
  };
}

/** The JetStream manager of `connection`; ChangeFeedUnavailableError when JetStream cannot be reached. */
export async function changeStreamManager(connection: NatsConnection, timeout: number): Promise<JetStreamManager> {
  try {
    return await connection.jetstreamManager({ timeout });
  } catch (err) {
    throw new ChangeFeedUnavailableError('cannot reach JetStream for the change feed (is JetStream enabled on the NATS server?)', { cause: err });
  }
}

/**
 * Creates the stream if it does not exist (limits retention: notices are
 * kept for every follower until their age or the size limit drops the
 * oldest). An existing stream is used as it is: its limits are an operator's
 * to change. Several processes may race to create it; creating a stream with
 * the configuration it already has is a no-op. True if this call created it.
 */
export async function ensureChangeStream(jsm: JetStreamManager, s: ResolvedChangeStream): Promise<boolean> {
  try {
    await jsm.streams.info(s.stream);
    return false;
  } catch (err) {
    if (!isStreamNotFound(err)) throw new ChangeFeedUnavailableError(`cannot look up the change stream ${s.stream}`, { cause: err });
  }
  const config: Partial<StreamConfig> = {
    name: s.stream,
    subjects: [`${s.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    num_replicas: s.replicas,
    max_age: nanos(s.maxAgeMs),
    max_bytes: s.maxBytes,
  };
  try {
    await jsm.streams.add(config);
    return true;
  } catch (err) {
    // Created meanwhile by another process (with other limits, perhaps): use theirs.
    if (/already in use|10058/i.test(err instanceof Error ? err.message : String(err))) return false;
    throw new ChangeFeedUnavailableError(`cannot create the change stream ${s.stream} (is JetStream enabled on the NATS server?)`, { cause: err });
  }
}
