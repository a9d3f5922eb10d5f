import { errors, types } from 'cassandra-driver';

// The server's answers as the driver surfaces them: every refusal of the
// emulator is the driver's own ResponseError class with the protocol code a
// Cassandra/ScyllaDB node would send, so the store's error mapping
// (scylla-errors.ts) treats it exactly as it would a real server's.

const codes = types.responseErrorCodes;

/**
 * CQL outside the subset the emulator models (or not CQL at all): code
 * `syntaxError`, message `emulator: unsupported: <what>`. Never a silent
 * approximation: what is not modelled is refused.
 */
export function unsupported(what: string): errors.ResponseError {
  return new errors.ResponseError(codes.syntaxError, `emulator: unsupported: ${what}`);
}

/** A statement that does not parse: code `syntaxError`, with the position. */
export function syntaxError(message: string, position: number): errors.ResponseError {
  return new errors.ResponseError(codes.syntaxError, `emulator: line 1:${position} ${message}`);
}

/** An invalid request (unknown table, a data-modelling rule, a bad value): code `invalid`, the server's text. */
export function invalid(message: string): errors.ResponseError {
  return new errors.ResponseError(codes.invalid, message);
}

/** A refusal that Cassandra would not make but the emulator does, to keep the store honest: code `invalid`, prefixed `emulator:`. */
export function refused(rule: string): errors.ResponseError {
  return new errors.ResponseError(codes.invalid, `emulator: refused: ${rule}`);
}

/** CREATE of something that exists, without IF NOT EXISTS: code `alreadyExists`. */
export function alreadyExists(message: string, keyspace: string, table?: string): errors.ResponseError {
  const err = new errors.ResponseError(codes.alreadyExists, message);
  // The driver decodes these two fields from an AlreadyExists frame.
  Object.assign(err, { keyspace, table: table ?? '' });
  return err;
}

/** A malformed request frame field (e.g. a paging state that is not ours): code `protocolError`. */
export function protocolError(message: string): errors.ResponseError {
  return new errors.ResponseError(codes.protocolError, message);
}
