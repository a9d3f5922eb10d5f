import { Worker } from 'node:worker_threads';
import uWS from 'uWebSockets.js';

/**
 * The floor of a DM's server cost: a bare uWebSockets relay with none of the
 * chat server's logic, run by floor.ts as its own process so /proc measures
 * it alone. Per message it does what the chat server cannot avoid doing:
 * parse the JSON frame, then write the sender's ack and echo (corked into one
 * write) and the recipient's frame. Each stage adds one more unavoidable cost:
 *
 * - `relay`:  the socket work above, nothing else;
 * - `thread`: plus a round trip to a worker thread per batch (what keeps the
 *   commit's fsync off the event loop), batched as the SQLite writer batches:
 *   one job in flight, what arrives meanwhile goes in the next;
 * - `sqlite`: plus, on that thread, the batch inserted into one SQLite table
 *   in WAL mode with `synchronous=FULL`, one commit (one fsync) per batch.
 */

export type FloorStage = 'relay' | 'thread' | 'sqlite';
export const FLOOR_STAGES: readonly FloorStage[] = ['relay', 'thread', 'sqlite'];

interface Peer {
  pair: number;
  side: number;
}

interface Job {
  pair: number;
  side: number;
  id: number;
  body: string;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
let insert, tx;
if (workerData.sqliteDir) {
  const Database = require(workerData.sqliteModule);
  const db = new Database(workerData.sqliteDir + '/floor.db');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (conversation_id, seq)) WITHOUT ROWID');
  insert = db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?)');
  tx = db.transaction((jobs) => { for (const j of jobs) insert.run('p' + j.pair, j.seq, j.body, Date.now()); });
}
parentPort.on('message', (jobs) => { if (tx) tx(jobs); parentPort.postMessage(jobs.length); });
`;

/** Starts the relay on a free port of 127.0.0.1 and resolves with the port. */
export function startFloorServer(stage: FloorStage, sqliteDir: string, sqliteModule: string): Promise<number> {
  const sockets = new Map<number, uWS.WebSocket<Peer>[]>();
  const seqs = new Map<number, number>();
  const worker = stage === 'relay' ? undefined : new Worker(WORKER, { eval: true, workerData: { sqliteDir: stage === 'sqlite' ? sqliteDir : undefined, sqliteModule } });
  let pending: (Job & { seq: number })[] = [];
  let inFlight: (Job & { seq: number })[] | undefined;
  let scheduled = false;

  const deliver = (job: Job & { seq: number }): void => {
    const pair = sockets.get(job.pair);
    const from = pair?.[job.side];
    const to = pair?.[1 - job.side];
    const event = `{"event":"message.new","message":{"conversationId":"p${job.pair}","seq":${job.seq},"body":${JSON.stringify(job.body)}}}`;
    from?.cork(() => {
      from.send(`{"re":${job.id},"ok":true,"seq":${job.seq}}`);
      from.send(event);
    });
    to?.send(event);
  };
  const flush = (): void => {
    if (inFlight || pending.length === 0) return;
    inFlight = pending;
    pending = [];
    worker?.postMessage(inFlight);
  };
  worker?.on('message', () => {
    const done = inFlight ?? [];
    inFlight = undefined;
    for (const job of done) deliver(job);
    flush();
  });

  return new Promise((resolve, reject) => {
    uWS
      .App()
      .ws<Peer>('/*', {
        idleTimeout: 0,
        maxPayloadLength: 64 * 1024,
        upgrade: (res, req, context) => {
          const query = new URLSearchParams(req.getQuery() ?? '');
          res.upgrade<Peer>(
            { pair: Number(query.get('pair')), side: Number(query.get('side')) },
            req.getHeader('sec-websocket-key'),
            req.getHeader('sec-websocket-protocol'),
            req.getHeader('sec-websocket-extensions'),
            context,
          );
        },
        open: (ws) => {
          const { pair, side } = ws.getUserData();
          const both = sockets.get(pair) ?? [];
          both[side] = ws;
          sockets.set(pair, both);
        },
        message: (ws, data) => {
          const frame = JSON.parse(Buffer.from(data).toString('utf8')) as { id: number; body: string };
          const { pair, side } = ws.getUserData();
          const seq = (seqs.get(pair) ?? 0) + 1;
          seqs.set(pair, seq);
          const job = { pair, side, id: frame.id, body: frame.body, seq };
          if (!worker) return deliver(job);
          pending.push(job);
          if (!inFlight && !scheduled) {
            scheduled = true;
            setImmediate(() => {
              scheduled = false;
              flush();
            });
          }
        },
        close: (ws) => {
          const { pair, side } = ws.getUserData();
          const both = sockets.get(pair);
          if (both) delete both[side];
        },
      })
      .listen('127.0.0.1', 0, (listen) => {
        if (listen) resolve(uWS.us_socket_local_port(listen));
        else reject(new Error('the floor relay could not listen on 127.0.0.1'));
      });
  });
}
