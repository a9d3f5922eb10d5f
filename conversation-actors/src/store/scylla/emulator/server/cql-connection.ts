import type { Socket } from 'node:net';
import { errors, types } from 'cassandra-driver';
import type { Logger } from '@chat/platform';
import { protocolError } from '../cql-errors.js';
import { asResponseError, errorBody } from './error-frames.js';
import { type Frame, FrameDecoder, FrameFlag, Opcode, encodeFrame } from './frames.js';
import { type Answer, type ServerState, type Session, runBatch, runExecute, runPrepare, runQuery } from './request-runner.js';
import { readBatch, readExecute, readPrepare, readQuery, readRegister, readStartup } from './requests.js';
import { type SchemaChange, schemaChangeEvent, supportedBody } from './results.js';
import { WireReader } from './wire-reader.js';
import { WireWriter } from './wire-writer.js';

const OPCODE_NAMES = new Map<number, string>(Object.entries(Opcode).map(([name, code]) => [code, name.toUpperCase()]));
/** The requests that touch data: what an unreachable node never applies. */
const DATA_OPCODES: ReadonlySet<number> = new Set([Opcode.query, Opcode.execute, Opcode.batch]);

/**
 * One client connection, as a node serves it: frames answered in order on
 * their stream ids; OPTIONS and STARTUP first (anything else before STARTUP
 * is a protocol error), then REGISTER, QUERY, PREPARE, EXECUTE, BATCH. A
 * frame of another protocol version is answered with the protocol error the
 * driver downgrades on, after which the connection reads nothing more (the
 * driver closes it and reconnects in v4). A malformed body is answered with
 * a protocol error and the connection goes on, as on a node.
 *
 * While the cluster is unreachable, frames are held unanswered (the driver's
 * read timeout fires); `release()` answers them when it is reachable again:
 * OPTIONS, STARTUP, REGISTER and PREPARE normally, data requests with
 * Unavailable (they were never applied, and the driver's retry policy turns
 * that into NoHostAvailableError if it is still waiting).
 */
export class CqlConnection {
  readonly session: Session;
  private readonly decoder = new FrameDecoder();
  private readonly events = new Set<string>();
  private started = false;
  private held: Frame[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly server: ServerState,
    address: string,
    private readonly logger?: Logger,
  ) {
    this.session = { keyspace: undefined, address };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    // A client that resets the connection is not the server's problem; 'close' follows.
    socket.on('error', (err) => this.logger?.debug({ err, address }, 'cql emulator: socket error'));
  }

  /** Sends a schema change on stream -1 if this connection registered for SCHEMA_CHANGE. */
  pushSchemaChange(change: SchemaChange): void {
    if (this.events.has('SCHEMA_CHANGE')) this.write(-1, { opcode: Opcode.event, body: schemaChangeEvent(change) });
  }

  /** Answers the frames held while the cluster was unreachable (see the class comment). */
  release(): void {
    const held = this.held;
    this.held = [];
    this.socket.cork();
    for (const frame of held) {
      if (!DATA_OPCODES.has(frame.opcode)) this.write(frame.streamId, this.dispatch(frame));
      else this.write(frame.streamId, this.refusal(frame, 'emulator: the node was unreachable (cluster.setReachable(false)) when this request arrived; it was not applied'));
    }
    this.socket.uncork();
  }

  /** Closes the connection at once (the client sees it reset). */
  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.socket.cork();
    try {
      for (const decoded of this.decoder.push(chunk)) {
        if ('fatal' in decoded) {
          this.logger?.debug({ address: this.session.address, ...decoded.fatal }, 'cql emulator: unreadable frame');
          this.write(decoded.fatal.streamId, this.refusal(undefined, decoded.fatal.message, types.responseErrorCodes.protocolError));
        } else if (!this.server.cluster.isReachable) {
          this.held.push(decoded.frame);
        } else {
          this.write(decoded.frame.streamId, this.dispatch(decoded.frame));
        }
      }
    } finally {
      // One write per chunk of requests, not one per response.
      this.socket.uncork();
    }
  }

  private dispatch(frame: Frame): Answer {
    const name = OPCODE_NAMES.get(frame.opcode) ?? `0x${frame.opcode.toString(16)}`;
    try {
      if (frame.flags & FrameFlag.compression) throw protocolError('emulator: compressed frames are not supported (no compression was negotiated)');
      const r = new WireReader(frame.body);
      // A custom payload leads the body; the emulator has no use for it.
      if (frame.flags & FrameFlag.customPayload) r.bytesMap();
      if (frame.opcode === Opcode.options) return { opcode: Opcode.supported, body: supportedBody() };
      if (frame.opcode === Opcode.startup) {
        readStartup(r);
        this.started = true;
        return { opcode: Opcode.ready, body: Buffer.alloc(0) };
      }
      if (!this.started) throw protocolError(`Unexpected message ${name}, expecting STARTUP or OPTIONS`);
      switch (frame.opcode) {
        case Opcode.register:
          for (const event of readRegister(r)) this.events.add(event);
          return { opcode: Opcode.ready, body: Buffer.alloc(0) };
        case Opcode.query: {
          const req = readQuery(r);
          this.logger?.debug({ address: this.session.address, stream: frame.streamId, query: req.query }, 'cql emulator: QUERY');
          return runQuery(this.server, this.session, req);
        }
        case Opcode.prepare: {
          const query = readPrepare(r);
          this.logger?.debug({ address: this.session.address, stream: frame.streamId, query }, 'cql emulator: PREPARE');
          return runPrepare(this.server, this.session, query);
        }
        case Opcode.execute: {
          const req = readExecute(r);
          this.logger?.debug({ address: this.session.address, stream: frame.streamId, id: req.id.toString('hex') }, 'cql emulator: EXECUTE');
          return runExecute(this.server, this.session, req);
        }
        case Opcode.batch: {
          const req = readBatch(r);
          this.logger?.debug({ address: this.session.address, stream: frame.streamId, statements: req.statements.length }, 'cql emulator: BATCH');
          return runBatch(this.server, this.session, req);
        }
        case Opcode.authResponse:
          throw protocolError('Unexpected AUTH_RESPONSE: the emulator requires no authentication');
        default:
          throw protocolError(`Unknown or unexpected opcode ${name} for a request`);
      }
    } catch (err) {
      // A body that does not parse: the request's consistency is unknown.
      return { opcode: Opcode.error, body: errorBody(asResponseError(err), { consistency: types.consistencies.one, writeType: 'SIMPLE' }) };
    }
  }

  /** An ERROR answer (Unavailable by default) to a request that is not dispatched. */
  private refusal(frame: Frame | undefined, message: string, code: number = types.responseErrorCodes.unavailableException): Answer {
    return { opcode: Opcode.error, body: errorBody(new errors.ResponseError(code, message), { consistency: frame ? consistencyOf(frame) : types.consistencies.one, writeType: 'SIMPLE' }) };
  }

  private write(streamId: number, answer: Answer): void {
    if (this.socket.destroyed) return;
    let body = answer.body;
    let flags = 0;
    if (answer.warnings && answer.warnings.length > 0) {
      // Warnings lead the body, flagged in the header (the driver puts them in info.warnings).
      const list = new WireWriter().stringList(answer.warnings).toBuffer();
      body = Buffer.concat([list, body]);
      flags |= FrameFlag.warning;
    }
    this.socket.write(encodeFrame(streamId, answer.opcode, body, flags));
  }
}

/** The consistency a held data request asked for (ONE if its body does not say). */
function consistencyOf(frame: Frame): number {
  try {
    const r = new WireReader(frame.body);
    if (frame.flags & FrameFlag.customPayload) r.bytesMap();
    if (frame.opcode === Opcode.query) return readQuery(r).params.consistency;
    if (frame.opcode === Opcode.execute) return readExecute(r).params.consistency;
    if (frame.opcode === Opcode.batch) return readBatch(r).consistency;
  } catch {
    // Malformed: the refusal does not depend on it.
  }
  return types.consistencies.one;
}
