import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '@chat/platform';

/** The event kinds (Event.kind's cases) actors publish: chat_event_publish_failures_total's label values. */
export const PUBLISHED_EVENTS = ['messageNew', 'messageUpdated', 'messageDelta', 'threadUpdated', 'receipt', 'conversationUpdated', 'conversationViews', 'conversationRemoved'] as const;

/** The conversation actors' Prometheus metrics, registered on the process registry. */
export class ActorMetrics {
  readonly requests: Counter<'op' | 'outcome'>;
  readonly storeWrite: Histogram<'kind'>;
  readonly batchSize: Histogram;
  readonly mailboxWait: Histogram;
  readonly mailboxDepth: Gauge;
  readonly activeActors: Gauge;
  readonly shardsOwned: Gauge;
  readonly messagesStored: Counter;
  readonly leaseRenewals: Counter<'outcome'>;
  readonly handoffs: Counter;
  readonly shardsLost: Counter<'reason'>;
  readonly shardsTotal: Gauge;
  readonly shardAcquisitions: Counter<'reason'>;
  readonly storeErrors: Counter<'kind'>;
  readonly storeWritable: Gauge;
  readonly eventPublishFailures: Counter<'event'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'chat_actor_requests_total',
      help: 'Requests handled by conversation actors and the query service, by op and outcome (ok or an error code).',
      labelNames: ['op', 'outcome'],
      registers,
    });
    this.storeWrite = new Histogram({
      name: 'chat_store_write_seconds',
      help: 'Store write latency (one group-commit batch or one conversation create).',
      labelNames: ['kind'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'chat_actor_commit_batch_size',
      help: 'Messages committed per store write (group commit).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.mailboxWait = new Histogram({
      name: 'chat_actor_mailbox_wait_seconds',
      help: 'Time a request waited in its actor mailbox before processing started.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.mailboxDepth = new Gauge({
      name: 'chat_actor_mailbox_depth',
      help: 'Requests waiting in all actor mailboxes of this host.',
      registers,
    });
    this.activeActors = new Gauge({ name: 'chat_actors_active', help: 'Conversation actors in memory.', registers });
    this.shardsOwned = new Gauge({ name: 'chat_shards_owned', help: 'Shards this host serves.', registers });
    this.shardsTotal = new Gauge({
      name: 'chat_shards_total',
      help: 'Shards the cluster is divided into (SHARDS); max(chat_shards_total) - sum(chat_shards_owned) is how many have no owner.',
      registers,
    });
    this.shardAcquisitions = new Counter({
      name: 'chat_shard_acquisitions_total',
      help: 'Shards this host started serving, by reason (free: unclaimed; takeover: claimed from a host whose lease ended; adopted: our own claim from before a restart).',
      labelNames: ['reason'],
      registers,
    });
    this.storeErrors = new Counter({
      name: 'chat_store_errors_total',
      help: 'Store writes that failed, by kind (unavailable: the store could not be reached; fenced: a newer owner holds the shard; conflict: the stored head moved; other).',
      labelNames: ['kind'],
      registers,
    });
    this.storeWritable = new Gauge({
      name: 'chat_store_writable',
      help: '1 while the store takes writes; 0 from a write it refused for good (disk full, read-only, I/O error) until one succeeds again (the host is not ready meanwhile).',
      registers,
    });
    this.storeWritable.set(1);
    this.leaseRenewals = new Counter({
      name: 'chat_lease_renewals_total',
      help: 'Host lease renewals (one lease per actor host), by outcome (ok, lost, error).',
      labelNames: ['outcome'],
      registers,
    });
    this.handoffs = new Counter({ name: 'chat_shard_handoffs_total', help: 'Shards handed to another host (drained, then released).', registers });
    this.shardsLost = new Counter({
      name: 'chat_shards_lost_total',
      help: 'Shards this host stopped serving without a hand-off, by reason (lost: taken or expired in the table; expired: not renewed in time).',
      labelNames: ['reason'],
      registers,
    });
    // Every known label value from 0, so a first lease failure, loss or store error is an increase, not a new series rate() cannot see.
    for (const outcome of ['ok', 'lost', 'error']) this.leaseRenewals.inc({ outcome }, 0);
    for (const reason of ['lost', 'expired']) this.shardsLost.inc({ reason }, 0);
    for (const reason of ['free', 'takeover', 'adopted']) this.shardAcquisitions.inc({ reason }, 0);
    for (const kind of ['unavailable', 'fenced', 'conflict', 'other']) this.storeErrors.inc({ kind }, 0);
    this.eventPublishFailures = new Counter({
      name: 'chat_event_publish_failures_total',
      help: 'Events the bus refused after their change was stored (bigger than the server max_payload, bus closed): their recipients miss them until they sync. By event kind.',
      labelNames: ['event'],
      registers,
    });
    for (const event of PUBLISHED_EVENTS) this.eventPublishFailures.inc({ event }, 0);
    this.messagesStored = new Counter({
      name: 'chat_messages_stored_total',
      help: 'Messages durably stored and acknowledged.',
      registers,
    });
  }
}
