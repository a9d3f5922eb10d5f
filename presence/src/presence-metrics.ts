import { Counter, Gauge, type Registry } from 'prom-client';

/** The presence service's Prometheus metrics. */
export class PresenceMetrics {
  readonly updates: Counter<'kind' | 'outcome'>;
  readonly queries: Counter<'outcome'>;
  readonly onlineUsers: Gauge;
  readonly backendErrors: Counter<'op'>;
  readonly typingEnded: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.updates = new Counter({
      name: 'chat_presence_updates_total',
      help: 'Session and typing updates from gateways, by kind (up, down, heartbeat, typing_start, typing_stop, unknown) and outcome (ok, invalid, error: the backend failed, dropped: too many pending).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.queries = new Counter({
      name: 'chat_presence_queries_total',
      help: 'Presence queries answered, by outcome (ok or an error code).',
      labelNames: ['outcome'],
      registers,
    });
    this.onlineUsers = new Gauge({
      name: 'chat_presence_online_users',
      help: 'Users this instance brought online minus those it took offline; summed over all instances, the users online.',
      registers,
    });
    this.backendErrors = new Counter({
      name: 'chat_presence_backend_errors_total',
      help: 'Presence backend calls that failed, by operation.',
      labelNames: ['op'],
      registers,
    });
    this.typingEnded = new Counter({
      name: 'chat_presence_typing_ended_total',
      help: 'Typing leases this instance ended and announced (typing active: false), by reason (expired, disconnected).',
      labelNames: ['reason'],
      registers,
    });
  }
}
