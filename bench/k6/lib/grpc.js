// The gRPC side of the k6 scenarios, with k6's built-in gRPC client. Needs k6
// v0.50 or newer (Client.asyncInvoke, Stream). The scripts load ChatApi from the
// repository's own proto files themselves (see PROTO_DIR): k6 resolves a
// relative path from the file that calls load(), so that call lives in each
// script beside this folder, where ../../proto/protobuf is the repository's.
import { Client, Stream, StatusOK } from 'k6/net/grpc';
import { Trend, Counter } from 'k6/metrics';
import { env } from './chat.js';

export { Client, Stream, StatusOK };

/** GRPC=host:port of the gateway's gRPC API (default 127.0.0.1:9090). */
export const GRPC_TARGET = env('GRPC', '127.0.0.1:9090');
/** Where chat/v1/api.proto and its imports are, relative to the scripts in bench/k6/. */
export const PROTO_DIR = env('PROTO_DIR', '../../proto/protobuf');

/** Metadata of a call by the holder of `token` (a user JWT or a bot token). */
export function bearer(token) {
  return { metadata: { authorization: `Bearer ${token}` } };
}

/** SendMessage call → reply, ms. */
export const grpcCallLatency = new Trend('chat_grpc_call_latency', true);
/** Delta written into a StreamMessage → the recipient's message.delta carrying it, ms. */
export const deltaLatency = new Trend('chat_delta_latency', true);
/** gRPC calls that failed, by status. */
export const grpcErrors = new Counter('chat_grpc_errors');
/** Streamed messages whose stored body is not the concatenation of what was written. */
export const bodyMismatches = new Counter('chat_stream_body_mismatches');
