import { errors, types } from 'cassandra-driver';
import { WireWriter } from './wire-writer.js';

// The body of ERROR (section 9 of native_protocol_v4.spec): <code><message>
// and, for some codes, the fields a node adds. The driver rebuilds the same
// ResponseError class and code from it, and for timeouts and unavailability
// writes its own message from those fields (as it does for a real node), so
// the fields must be there and well-formed or the driver misreads the frame.

const codes = types.responseErrorCodes;

/** What the request was, for the fields an error carries beyond its code and message. */
export interface ErrorContext {
  /** The request's consistency level. */
  consistency: number;
  /** What a write timeout or failure reports: SIMPLE, BATCH, UNLOGGED_BATCH or CAS. */
  writeType: 'SIMPLE' | 'BATCH' | 'UNLOGGED_BATCH' | 'CAS';
  /** The id an Unprepared error names when the error itself does not carry one. */
  preparedId?: Buffer;
}

/** The optional fields the driver's ResponseError carries when it comes from a node; an injected fault may set them. */
type Detailed = errors.ResponseError &
  Partial<{
    consistencies: number;
    required: number;
    alive: number;
    received: number;
    blockFor: number;
    isDataPresent: number | boolean;
    writeType: string;
    failures: number;
    keyspace: string;
    table: string;
    queryId: Buffer;
    functionName: string;
    argTypes: string[];
  }>;

/**
 * Any failure of a request as the ResponseError a node would send: the
 * emulator's own ResponseErrors as they are (injected faults included);
 * its plain refusals ("emulator: ...", e.g. DML without prepare) and value
 * errors as invalid requests; NoHostAvailableError (the cluster became
 * unreachable mid-request) as unavailable, which the driver's retry policy
 * turns into its own NoHostAvailableError; anything else as a server error.
 */
export function asResponseError(err: unknown): errors.ResponseError {
  if (err instanceof errors.ResponseError) return err;
  if (err instanceof errors.NoHostAvailableError) return new errors.ResponseError(codes.unavailableException, `emulator: host unreachable: ${err.message}`);
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('emulator:') || err instanceof TypeError || err instanceof RangeError || err instanceof errors.ArgumentError) {
    return new errors.ResponseError(codes.invalid, message);
  }
  return new errors.ResponseError(codes.serverError, `emulator: ${message}`);
}

/**
 * The ERROR body of `err`: code, message, then the code's fields, taken
 * from the error when it has them, otherwise what a single node would say
 * (one replica required, none answered, the request's consistency).
 */
export function errorBody(err: errors.ResponseError, ctx: ErrorContext): Buffer {
  const e = err as Detailed;
  const w = new WireWriter().int(e.code).string(truncate(e.message));
  const consistency = e.consistencies ?? ctx.consistency;
  const received = e.received ?? 0;
  const blockFor = e.blockFor ?? 1;
  switch (e.code) {
    case codes.unavailableException:
      w.short(consistency)
        .int(e.required ?? 1)
        .int(e.alive ?? 0);
      break;
    case codes.readTimeout:
      w.short(consistency).int(received).int(blockFor).byte(e.isDataPresent ? 1 : 0);
      break;
    case codes.readFailure:
      w.short(consistency)
        .int(received)
        .int(blockFor)
        .int(e.failures ?? 1)
        .byte(e.isDataPresent ? 1 : 0);
      break;
    case codes.writeTimeout:
      w.short(consistency)
        .int(received)
        .int(blockFor)
        .string(e.writeType ?? ctx.writeType);
      break;
    case codes.writeFailure:
      w.short(consistency)
        .int(received)
        .int(blockFor)
        .int(e.failures ?? 1)
        .string(e.writeType ?? ctx.writeType);
      break;
    case codes.functionFailure:
      w.string(e.keyspace ?? '')
        .string(e.functionName ?? '')
        .stringList(e.argTypes ?? []);
      break;
    case codes.alreadyExists:
      w.string(e.keyspace ?? '').string(e.table ?? '');
      break;
    case codes.unprepared:
      w.shortBytes(e.queryId ?? ctx.preparedId ?? Buffer.alloc(0));
      break;
    default:
      break;
  }
  return w.toBuffer();
}

/** A [string] holds 65535 bytes; a longer message (a huge batch's text) is cut rather than failing the frame. */
function truncate(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  return bytes.length <= 0xffff ? message : bytes.subarray(0, 0xfff0).toString('utf8');
}
