import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Socket, connect } from 'node:net';
import { once } from 'node:events';
import { EmulatedCluster } from '../emulated-cluster.js';
import { type CqlServer, startCqlServer } from './cql-server.js';
import { type Decoded, FrameDecoder, Opcode } from './frames.js';
import { WireReader } from './wire-reader.js';
import { WireWriter } from './wire-writer.js';

// Framing, below the driver: frames split anywhere or packed together, the
// version negotiation, and a node's answers to frames a driver never sends.

/** A request frame of `version` (v3+ header: 9 bytes, two-byte stream id). */
function request(opcode: number, body: Buffer, streamId = 1, version = 4, flags = 0): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt8(version, 0);
  header.writeUInt8(flags, 1);
  header.writeInt16BE(streamId, 2);
  header.writeUInt8(opcode, 4);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

const startup = (streamId = 1, version = 4): Buffer => request(Opcode.startup, new WireWriter().short(1).string('CQL_VERSION').string('3.0.0').toBuffer(), streamId, version);
const query = (text: string, streamId: number): Buffer => {
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from(text), new WireWriter().short(1).byte(0).toBuffer()]);
  body.writeInt32BE(Buffer.byteLength(text), 0);
  return request(Opcode.query, body, streamId);
};

const frames = (decoded: Decoded[]) => decoded.map((d) => ('frame' in d ? { stream: d.frame.streamId, opcode: d.frame.opcode, body: d.frame.body.toString('hex') } : d));

describe('FrameDecoder', () => {
  const stream = Buffer.concat([request(Opcode.options, Buffer.alloc(0), 1), query("SELECT * FROM system.local WHERE key='local'", 2), request(Opcode.register, Buffer.from([0, 0]), 3)]);
  const whole = frames(new FrameDecoder().push(stream));

  it('cuts several frames out of one chunk', () => {
    expect(whole.map((f) => ('stream' in f ? [f.stream, f.opcode] : f))).toEqual([
      [1, Opcode.options],
      [2, Opcode.query],
      [3, Opcode.register],
    ]);
  });

  it('reassembles frames split anywhere, even inside a header', () => {
    for (const size of [1, 2, 5, 9, 10, 17]) {
      const decoder = new FrameDecoder();
      const out: Decoded[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...decoder.push(stream.subarray(i, i + size)));
      expect(frames(out)).toEqual(whole);
    }
  });

  it('stops at a frame of another version, naming its stream (two-byte ids from v3, one byte before)', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.concat([startup(7, 0x42), startup(8)]))).toEqual([{ fatal: { streamId: 7, message: 'Invalid or unsupported protocol version (66); supported versions are (4/v4)' } }]);
    expect(decoder.push(startup(9))).toEqual([]);
    const v2 = Buffer.from([0x02, 0x00, 0x05, Opcode.startup, 0, 0, 0, 0]);
    expect(new FrameDecoder().push(v2)).toMatchObject([{ fatal: { streamId: 5 } }]);
    expect(new FrameDecoder().push(request(Opcode.options, Buffer.alloc(0), 3, 0x84))).toMatchObject([{ fatal: { streamId: 3, message: expect.stringMatching(/response frame/) } }]);
  });

  it('refuses a body over 256 MiB without waiting for it', () => {
    const header = request(Opcode.query, Buffer.alloc(0), 4);
    header.writeUInt32BE(256 * 1024 * 1024 + 1, 5);
    expect(new FrameDecoder().push(header)).toMatchObject([{ fatal: { streamId: 4, message: expect.stringMatching(/Request is too big/) } }]);
  });
});

describe('the server, byte by byte', () => {
  let server: CqlServer;
  beforeAll(async () => {
    server = await startCqlServer({ cluster: new EmulatedCluster() });
  });
  afterAll(() => server.close());

  /** Opens a raw connection; `responses(n)` resolves with the next n response frames. */
  async function raw(): Promise<{ socket: Socket; responses(n: number): Promise<{ version: number; stream: number; opcode: number; body: Buffer }[]> }> {
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let buffered = Buffer.alloc(0);
    const parsed: { version: number; stream: number; opcode: number; body: Buffer }[] = [];
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUInt32BE(5)) {
        const length = buffered.readUInt32BE(5);
        parsed.push({ version: buffered.readUInt8(0), stream: buffered.readInt16BE(2), opcode: buffered.readUInt8(4), body: buffered.subarray(9, 9 + length) });
        buffered = buffered.subarray(9 + length);
      }
    });
    const responses = async (n: number) => {
      await expect.poll(() => parsed.length, { timeout: 2000 }).toBeGreaterThanOrEqual(n);
      return parsed.splice(0, n);
    };
    return { socket, responses };
  }

  const error = (body: Buffer) => {
    const r = new WireReader(body);
    return { code: r.int(), message: r.string() };
  };

  it('answers a v5 (or DSE) frame with a v4 protocol error on its stream, which is what makes the driver downgrade', async () => {
    const { socket, responses } = await raw();
    socket.write(startup(12, 5));
    const [answer] = await responses(1);
    expect(answer).toMatchObject({ version: 0x84, stream: 12, opcode: Opcode.error });
    expect(error((answer as { body: Buffer }).body)).toEqual({ code: 0x000a, message: 'Invalid or unsupported protocol version (5); supported versions are (4/v4)' });
    socket.destroy();
  });

  it('answers frames written one byte at a time, in order; OPTIONS offers CQL 3.4.5 and no compression', async () => {
    const { socket, responses } = await raw();
    const bytes = Buffer.concat([request(Opcode.options, Buffer.alloc(0), 1), startup(2), query("SELECT cql_version FROM system.local WHERE key='local'", 3)]);
    for (const byte of bytes) socket.write(Buffer.from([byte]));
    const answers = await responses(3);
    expect(answers.map((a) => [a.stream, a.opcode])).toEqual([
      [1, Opcode.supported],
      [2, Opcode.ready],
      [3, Opcode.result],
    ]);
    const supported = new WireReader((answers[0] as { body: Buffer }).body);
    const options = Object.fromEntries(Array.from({ length: supported.short() }, () => [supported.string(), supported.stringList()]));
    expect(options).toMatchObject({ CQL_VERSION: ['3.4.5'], COMPRESSION: [] });
    socket.destroy();
  });

  it('refuses requests before STARTUP, compression, and a malformed body with protocol errors, and goes on serving', async () => {
    const { socket, responses } = await raw();
    socket.write(query('SELECT * FROM system.local', 1));
    const compressed = request(Opcode.startup, new WireWriter().short(2).string('CQL_VERSION').string('3.0.0').string('COMPRESSION').string('lz4').toBuffer(), 2);
    socket.write(compressed);
    socket.write(startup(3));
    socket.write(request(Opcode.query, Buffer.from([0, 0, 0, 99, 1]), 4));
    socket.write(query('SELECT key FROM system.local', 5));
    const answers = await responses(5);
    expect(answers.map((a) => [a.stream, a.opcode === Opcode.error ? error(a.body) : a.opcode])).toEqual([
      [1, { code: 0x000a, message: 'Unexpected message QUERY, expecting STARTUP or OPTIONS' }],
      [2, { code: 0x000a, message: 'Unknown compression algorithm: lz4' }],
      [3, Opcode.ready],
      [4, { code: 0x000a, message: expect.stringMatching(/^Not enough bytes to read a string/) }],
      [5, Opcode.result],
    ]);
    socket.destroy();
  });
});
