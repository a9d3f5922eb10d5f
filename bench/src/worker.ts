import { Client, devLogin, type ChatMessage, type Login } from './client.js';
import type { Command, CommandMessage, CommandResult, ConnectResult, CreateGroupResult, LoginResult, OpenDmsResult, UserSpec, WorkerMessage } from './ipc.js';
import { encode, newCounters, newHistogram, recordMs, wallNow, type Snapshot } from './stats.js';
import { bodySentAt, stampBody } from './message-body.js';

/**
 * A worker process: holds a share of the simulated users (their sockets),
 * runs the coordinator's commands on them, and records counters and latency
 * histograms that the coordinator collects every second.
 */

/** A send without a reply after this long counts as a `timeout` error. */
const REPLY_TIMEOUT_MS = 15_000;
/** Pacing tick of the senders. */
const TICK_MS = 2;

interface User {
  spec: UserSpec;
  login?: Login;
  client?: Client;
  conversationId?: string;
  sent: number;
}

class Worker {
  readonly #users = new Map<number, User>();
  #counters = newCounters();
  /** What was sent or connected before #measureFrom (the warm-up): counted apart, never recorded in a histogram. */
  #warmup = newCounters();
  #measureFrom = 0;
  readonly #delivery = newHistogram();
  readonly #ack = newHistogram();
  readonly #connect = newHistogram();
  #cpu = process.cpuUsage();
  #notes: string[] = [];
  #closesReported = 0;

  handle(command: Command): Promise<CommandResult> | CommandResult {
    switch (command.type) {
      case 'login':
        return this.#login(command.users, command.concurrency);
      case 'connect':
        return this.#connectAll(command.rampPerSec);
      case 'open-dms':
        return this.#openDms(command.pairs);
      case 'create-group':
        return this.#createGroup(command.creator, command.title, command.members);
      case 'send':
        return this.#send(command.ratePerUser, command.durationMs, command.bodySize);
      case 'measure-from':
        this.#measureFrom = command.at;
        return {};
      case 'snapshot':
        return this.#snapshot();
      case 'close':
        return this.#close();
    }
  }

  expire(): void {
    for (const u of this.#users.values()) u.client?.expire(REPLY_TIMEOUT_MS);
  }

  /** Counts an unexpected close; the first few are described to the user, to tell a server's close from a network error. */
  #closed(u: User, code: number, detail: string): void {
    this.#error(`closed:${code}`);
    if (++this.#closesReported <= 3) this.#notes.push(`${u.spec.name} on ${u.spec.gateway}: socket closed unexpectedly, ${code} ${detail || '(no reason given)'}`);
  }

  #error(code: string): void {
    this.#counters.errors[code] = (this.#counters.errors[code] ?? 0) + 1;
  }

  async #login(specs: UserSpec[], concurrency: number): Promise<LoginResult> {
    const result: LoginResult = { failed: 0, firstError: null };
    const users = specs.map((spec): User => ({ spec, sent: 0 }));
    for (const u of users) this.#users.set(u.spec.index, u);
    await forEachLimited(users, concurrency, async (u) => {
      try {
        u.login = await devLogin(u.spec.gateway, u.spec.name);
      } catch (err) {
        this.#error('login_failed');
        result.failed++;
        result.firstError ??= `login_failed: ${message(err)}`;
      }
    });
    return result;
  }

  async #connectAll(rampPerSec: number): Promise<ConnectResult> {
    const result: ConnectResult = { ids: [], failed: 0, firstError: null, retried: 0, firstRetry: null };
    const t0 = performance.now();
    const intervalMs = rampPerSec > 0 ? 1000 / rampPerSec : 0;
    const users = [...this.#users.values()].filter((u) => u.login && !u.client);
    await Promise.all(
      users.map(async (u, k) => {
        const wait = t0 + k * intervalMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const warm = wallNow() < this.#measureFrom;
        try {
          const { client, ms } = await this.#connectWithRetry(u, result);
          u.client = client;
          if (warm) this.#warmup.connected++;
          else {
            this.#counters.connected++;
            recordMs(this.#connect, ms);
          }
          result.ids.push([u.spec.index, client.userId]);
        } catch (err) {
          this.#counters.connectFailed++;
          this.#error('connect_failed');
          result.failed++;
          result.firstError ??= `connect_failed: ${message(err)}`;
        }
      }),
    );
    return result;
  }

  /**
   * Connects, retrying (as a real client reconnects, with backoff) a socket
   * that closed before hello; retries are counted and reported, not hidden.
   */
  async #connectWithRetry(u: User, result: ConnectResult): Promise<{ client: Client; ms: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Client.connect(u.spec.gateway, u.login!, {
          onMessage: (m) => this.#onMessage(u, m),
          onUnexpectedClose: (code, detail) => this.#closed(u, code, detail),
        });
      } catch (err) {
        if (attempt >= CONNECT_ATTEMPTS || !/closed before hello/.test(message(err))) throw err;
        result.retried++;
        result.firstRetry ??= message(err);
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  #onMessage(u: User, m: ChatMessage): void {
    // The sender's own sessions get its messages too; only other members' receipt counts.
    if (m.senderId === u.client?.userId) return;
    const sentAt = bodySentAt(m.body);
    if (!Number.isFinite(sentAt)) return;
    // A message belongs to the window it was sent in, wherever its delivery falls.
    if (sentAt < this.#measureFrom) return void this.#warmup.received++;
    this.#counters.received++;
    recordMs(this.#delivery, wallNow() - sentAt);
  }

  async #openDms(pairs: Array<[number, number]>): Promise<OpenDmsResult> {
    const result: OpenDmsResult = { opened: 0, failed: 0, firstError: null };
    await forEachLimited(pairs, 100, async ([ai, bi]) => {
      const a = this.#users.get(ai);
      const b = this.#users.get(bi);
      if (!a?.client || !b?.client) return void result.failed++;
      const reply = await a.client.request('conversation.open_dm', { userId: b.client.userId });
      if (!reply.ok) {
        this.#error(reply.error?.code ?? 'unknown');
        result.failed++;
        result.firstError ??= `conversation.open_dm: ${JSON.stringify(reply.error)}`;
        return;
      }
      a.conversationId = b.conversationId = (reply.conversation as { id: string }).id;
      result.opened++;
    });
    return result;
  }

  async #createGroup(creator: number, title: string, members: string[]): Promise<CreateGroupResult> {
    const u = this.#users.get(creator);
    if (!u?.client) return { conversationId: null, error: 'the group creator is not connected', ms: 0 };
    const t0 = performance.now();
    const reply = await u.client.request('conversation.create_group', { title, members });
    const ms = performance.now() - t0;
    if (!reply.ok) {
      this.#error(reply.error?.code ?? 'unknown');
      return { conversationId: null, error: `conversation.create_group: ${JSON.stringify(reply.error)}`, ms };
    }
    u.conversationId = (reply.conversation as { id: string }).id;
    return { conversationId: u.conversationId, error: null, ms };
  }

  /** Paced sends: message k of a user goes at phase + k/rate, whether or not earlier ones were acknowledged. */
  #send(ratePerUser: number, durationMs: number, bodySize: number): Promise<{ sent: number }> {
    const senders = [...this.#users.values()].filter((u) => u.client && u.conversationId);
    const intervalMs = 1000 / ratePerUser;
    const phases = senders.map(() => Math.random() * intervalMs);
    const totals = phases.map((p) => Math.max(0, Math.ceil((durationMs - p) / intervalMs)));
    const done = senders.map(() => 0);
    const t0 = performance.now();
    let sent = 0;
    return new Promise((resolve) => {
      const tick = () => {
        const elapsed = performance.now() - t0;
        for (let i = 0; i < senders.length; i++) {
          const phase = phases[i]!;
          if (elapsed < phase) continue;
          const due = Math.min(totals[i]!, Math.floor((elapsed - phase) / intervalMs) + 1);
          for (; done[i]! < due; done[i]!++, sent++) this.#sendOne(senders[i]!, bodySize);
        }
        if (elapsed >= durationMs) resolve({ sent });
        else setTimeout(tick, TICK_MS);
      };
      tick();
    });
  }

  #sendOne(u: User, bodySize: number): void {
    const n = ++u.sent;
    const sentAt = wallNow();
    const warm = sentAt < this.#measureFrom;
    if (warm) this.#warmup.sent++;
    else this.#counters.sent++;
    const args = { conversationId: u.conversationId, clientMsgId: `${u.spec.name}-${n}`, body: stampBody(sentAt, bodySize) };
    u.client!.send('message.send', args, (reply, ms) => {
      // The counters object is replaced at every snapshot: look it up now, not at send time.
      if (reply.ok && warm) this.#warmup.acked++;
      else if (reply.ok) {
        this.#counters.acked++;
        recordMs(this.#ack, ms);
      } else this.#error(reply.error?.code ?? 'unknown');
    });
  }

  #snapshot(): Snapshot {
    let open = 0;
    let inflight = 0;
    for (const u of this.#users.values()) {
      if (u.client?.open) open++;
      inflight += u.client?.inflight ?? 0;
    }
    const snapshot: Snapshot = {
      counters: this.#counters,
      warmup: this.#warmup,
      open,
      inflight,
      cpuMs: cpuMs(process.cpuUsage(this.#cpu)),
      notes: this.#notes,
      delivery: encode(this.#delivery),
      ack: encode(this.#ack),
      connect: encode(this.#connect),
    };
    this.#counters = newCounters();
    this.#warmup = newCounters();
    this.#notes = [];
    this.#cpu = process.cpuUsage();
    this.#delivery.reset();
    this.#ack.reset();
    this.#connect.reset();
    return snapshot;
  }

  async #close(): Promise<Record<string, never>> {
    const closing = [...this.#users.values()].flatMap((u) => (u.client ? [u.client] : []));
    for (const c of closing) c.close();
    const deadline = Date.now() + 3000;
    while (closing.some((c) => c.ws.readyState !== c.ws.CLOSED) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return {};
  }
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

/** Tries per connection before it counts as failed (a socket closed before hello is retried). */
const CONNECT_ATTEMPTS = 3;

/** The entry of a worker process (forked by the coordinator with `--worker`). */
export function runWorker(): void {
  const worker = new Worker();
  const reply = (m: WorkerMessage) => process.send?.(m);
  process.on('message', (m: CommandMessage) => {
    Promise.resolve()
      .then(() => worker.handle(m.command))
      .then(
        (result) => reply({ n: m.n, ok: true, result }),
        (err: unknown) => reply({ n: m.n, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  // The coordinator is gone: nothing left to do. Ctrl-C is the coordinator's to handle.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => {});
  setInterval(() => worker.expire(), 1000);
}
