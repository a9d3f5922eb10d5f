import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The NATS connection as Prometheus sees it, one set per process: whether it
 * is connected now, and how often it dropped and came back. No labels: the
 * scrape's job and instance already say which process it is.
 */
export class NatsBusMetrics {
  readonly disconnects: Counter;
  readonly reconnects: Counter;

  constructor(registry: Registry, isConnected: () => boolean) {
    const registers = [registry];
    new Gauge({
      name: 'chat_nats_connected',
      help: '1 while this process is connected to NATS, 0 while it is reconnecting or closed.',
      registers,
      collect() {
        this.set(isConnected() ? 1 : 0);
      },
    });
    this.disconnects = new Counter({ name: 'chat_nats_disconnects_total', help: 'Times the NATS connection was lost.', registers });
    this.reconnects = new Counter({ name: 'chat_nats_reconnects_total', help: 'Times the NATS connection came back after being lost.', registers });
  }
}
