import { GatewayFullError } from '../errors.js';
import type { GatewayMetrics } from '../metrics.js';
import type { ConnectionCap } from '../session/connection-cap.js';
import type { ConnectionAdmission } from './grpc-connection-gate.js';

/**
 * gRPC connections draw on the same budget as WebSocket sessions
 * (MAX_CONNECTIONS): each holds a descriptor for as long as it is open,
 * whatever number of calls it carries. The admission counts them in
 * `capacity` and in the gRPC connection metrics.
 */
export function capAdmission(capacity: ConnectionCap, metrics: GatewayMetrics): ConnectionAdmission {
  return {
    admit: () => {
      if (capacity.full) return false;
      capacity.opened();
      metrics.grpcConnections.inc();
      return true;
    },
    release: () => {
      capacity.closed();
      metrics.grpcConnections.dec();
    },
    refused: () => metrics.grpcConnectionsRejected.inc(),
    refusal: new GatewayFullError(capacity.max).message,
  };
}
