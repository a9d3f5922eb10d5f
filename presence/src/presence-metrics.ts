import { Counter, Gauge, type Registry } from 'prom-client';

/** The presence service's Prometheus metrics. */
export class PresenceMetrics {
  readonly updates: Counter<'kind' | 'outcome'>;
  readonly queries: Counter<'outcome'>;
  readonly onlineUsers: Gauge;
  readonly backendErrors: Counter<'op'>;
  readonly typingEnded: Counter<'reason'>;

  /**
   * `source.onlineUsers` is asked at each scrape (undefined: the backend did not
   * answer, and the last figure stays); `source.backendUp` says whether the
   * backend's last call succeeded.
   */
  constructor(registry: Registry, source: { onlineUsers(): Promise<number | undefined>; backendUp(): boolean }) {
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
      help: 'Users online in the whole deployment, read from the presence backend at each scrape: every instance reports the same figure (aggregate with max, not sum).',
      registers,
      async collect() {
        const n = await source.onlineUsers();
        if (n !== undefined) this.set(n);
      },
    });
    new Gauge({
      name: 'chat_presence_backend_up',
      help: '1 when the presence backend (Redis, or memory) answered its last call, 0 while it is failing.',
      registers,
      collect() {
        this.set(source.backendUp() ? 1 : 0);
      },
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
