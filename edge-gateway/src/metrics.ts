import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS, tracingEnabled } from '@chat/platform';

/** The edge gateway's Prometheus metrics. */
export class GatewayMetrics {
  readonly connections: Gauge;
  readonly connectionsTotal: Counter;
  readonly requests: Counter<'op' | 'outcome'>;
  readonly requestDuration: Histogram<'op'>;
  readonly busRequest: Histogram<'target'>;
  readonly deliveryLatency: Histogram;
  readonly eventsDelivered: Counter;
  readonly closes: Counter<'reason'>;
  readonly upgradesRejected: Counter<'reason'>;
  readonly grpcConnections: Gauge;
  readonly grpcConnectionsRejected: Counter;
  readonly retries: Counter<'target' | 'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connections = new Gauge({ name: 'chat_gateway_connections', help: 'Open WebSocket sessions.', registers });
    this.connectionsTotal = new Counter({ name: 'chat_gateway_connections_total', help: 'WebSocket sessions opened.', registers });
    this.requests = new Counter({
      name: 'chat_gateway_requests_total',
      help: 'Client requests by op and outcome (ok or an error code).',
      labelNames: ['op', 'outcome'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'chat_gateway_request_seconds',
      help: 'Frame received to reply written, by op.',
      labelNames: ['op'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.busRequest = new Histogram({
      name: 'chat_bus_request_seconds',
      help: 'Bus request round trip from the gateway, by target (actor, query or presence).',
      labelNames: ['target'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'chat_delivery_latency_seconds',
      help: 'End-to-end delivery: gateway receipt of message.send to the event frame written to each recipient socket.',
      buckets: LATENCY_BUCKETS,
      // Trace-id exemplars (shown by /metrics in the OpenMetrics format, which tracing switches to).
      enableExemplars: tracingEnabled(),
      registers,
    });
    this.eventsDelivered = new Counter({ name: 'chat_gateway_events_delivered_total', help: 'message.new frames written to sockets (the deliveries the delivery-latency histogram observes).', registers });
    this.closes = new Counter({
      name: 'chat_gateway_closes_total',
      help: 'Sessions closed by the server, by reason (rate_limit, backpressure, too_large, binary, invalid_utf8, token_expired, shutdown, resync).',
      labelNames: ['reason'],
      registers,
    });
    this.retries = new Counter({
      name: 'chat_gateway_retries_total',
      help: 'Bus requests that failed in a way the gateway retries (within its retry budget), by target (actor, query) and reason (no_responders, timeout, disconnected, unavailable).',
      labelNames: ['target', 'reason'],
      registers,
    });
    this.upgradesRejected = new Counter({
      name: 'chat_gateway_upgrades_rejected_total',
      help: 'WebSocket upgrades refused, by reason (draining, gateway_full, unauthorized, too_many_connections).',
      labelNames: ['reason'],
      registers,
    });
    this.grpcConnections = new Gauge({ name: 'chat_gateway_grpc_connections', help: 'Open gRPC (HTTP/2) connections; they count toward MAX_CONNECTIONS with the WebSocket sessions.', registers });
    this.grpcConnectionsRejected = new Counter({
      name: 'chat_gateway_grpc_connections_rejected_total',
      help: 'gRPC connections refused because the gateway held MAX_CONNECTIONS sessions and gRPC connections (their calls answered UNAVAILABLE).',
      registers,
    });
    // Every known label value from 0, so the first close or retry of a kind is an increase that rate() sees.
    for (const reason of ['rate_limit', 'backpressure', 'too_large', 'binary', 'invalid_utf8', 'token_expired', 'shutdown', 'resync']) this.closes.inc({ reason }, 0);
    for (const reason of ['draining', 'gateway_full', 'unauthorized', 'too_many_connections']) this.upgradesRejected.inc({ reason }, 0);
    for (const target of ['actor', 'query']) for (const reason of ['no_responders', 'timeout', 'disconnected', 'unavailable']) this.retries.inc({ target, reason }, 0);
  }
}
