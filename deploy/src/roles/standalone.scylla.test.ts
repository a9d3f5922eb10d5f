import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageJson } from '@chat/proto';
import { dropLiveKeyspace, liveCql, liveKeyspace, startCutOffProxy } from '@chat/testkit/live-cql';
import { chatBin } from '../paths.js';
import { ChatClient } from '@chat/testkit/chat-client';
import { type ChatProcess, startProcess, tempDir } from '@chat/testkit/system-under-test';

// The real `chat` command with STORE=scylla, end to end: `chat migrate`, then
// `chat standalone` over the real cassandra-driver, talking the CQL native
// protocol to a real Cassandra node (the test run's, see testkit/live-cql).
// Checks that the Scylla configuration, the
// migrations and the store work through the whole system, across a SIGKILL,
// and while the cluster is unreachable.

type Msg = MessageJson;

/** Runs `chat <args>` to completion. */
function runChat(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [chatBin(), ...args], { env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += String(d)));
    child.stderr.on('data', (d) => (output += String(d)));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** Where a suite's CQL lives: a contact point the test can cut off. */
interface CqlBackend {
  contactPoint: string;
  keyspace: string;
  setReachable(reachable: boolean): void;
  close(): Promise<void>;
}

const live = liveCql('standalone with STORE=scylla on a live CQL server');

describe.skipIf(!live)(`standalone with STORE=scylla on a live CQL server (${live?.server ?? 'none'})`, () => {
  standaloneOnScylla(async () => {
    // Cut off through a proxy of its own: the node is shared with suites running alongside.
    const proxy = await startCutOffProxy(live!.contactPoints.split(',')[0]!);
    const keyspace = liveKeyspace('chat_e2e');
    return {
      contactPoint: proxy.contactPoint,
      keyspace,
      setReachable: (r) => proxy.setReachable(r),
      close: async () => {
        await proxy.close();
        await dropLiveKeyspace(live!, keyspace);
      },
    };
  });
});

function standaloneOnScylla(startBackend: () => Promise<CqlBackend>): void {
  let backend: CqlBackend;
  let env: Record<string, string>;
  const dir = tempDir();
  const processes: ChatProcess[] = [];
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    backend = await startBackend();
    env = { STORE: 'scylla', SCYLLA_CONTACT_POINTS: backend.contactPoint, SCYLLA_KEYSPACE: backend.keyspace, SCYLLA_REPLICATION: 'SimpleStrategy:1', SCYLLA_REQUEST_TIMEOUT_MS: '2000' };
  });

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const p of processes) p.process.kill('SIGKILL');
    await backend?.close();
    dir.remove();
  });

  async function standalone(): Promise<ChatProcess> {
    const p = await startProcess({ dataDir: dir.path, env });
    processes.push(p);
    return p;
  }

  async function login(baseUrl: string, name: string): Promise<ChatClient & { user: { id: string } }> {
    const c = await ChatClient.login(baseUrl, name);
    clients.push(c);
    return c;
  }

  it('refuses to start on a keyspace chat migrate has not prepared, then migrates once, idempotently', async () => {
    const early = await startProcess({ dataDir: dir.path, env }).then(
      () => 'started',
      (err: unknown) => String(err),
    );
    expect(early).toMatch(/chat migrate/);

    const first = await runChat(['migrate'], env);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toMatch(/applied 0001_initial/);
    const second = await runChat(['migrate'], env);
    expect(second.code, second.output).toBe(0);
    expect(second.output).not.toMatch(/applied 0001_initial/);
  }, 60_000);

  it('chats, survives a SIGKILL with every acknowledged message and its idempotency, and answers unavailable while the cluster is unreachable', async () => {
    let sys = await standalone();
    const ada = await login(sys.baseUrl, 'Ada');
    const ben = await login(sys.baseUrl, 'Ben');
    const { conversation } = await ada.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: ben.user.id });
    const id = conversation.id;
    const sent: Msg[] = [];
    for (let i = 1; i <= 12; i++) sent.push((await ada.call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: `k${i}`, body: `hello ${i}` })).message);
    expect(sent.map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const seen = await ben.waitForEvent((e) => e.ev === 'message.new' && (e.message as Msg).seq === 12);
    expect((seen.message as Msg).body).toBe('hello 12');

    sys.process.kill('SIGKILL');
    await sys.exited;
    sys = await standalone();
    const again = await login(sys.baseUrl, 'Ada');
    const retry = await again.call<{ message: Msg; duplicate: boolean }>('message.send', { conversationId: id, clientMsgId: 'k12', body: 'hello 12' });
    expect(retry).toMatchObject({ duplicate: true, message: { seq: 12, id: sent[11]!.id } });
    const history = await again.call<{ messages: Msg[] }>('message.history', { conversationId: id, limit: 50 });
    expect(history.messages.map((m) => m.body)).toEqual(sent.map((m) => m.body));

    backend.setReachable(false);
    try {
      const err = await again.call('message.send', { conversationId: id, clientMsgId: 'k13', body: 'while down' }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(String(err)).toMatch(/unavailable/);
    } finally {
      backend.setReachable(true);
    }
    // The driver reconnects by itself; the retry is stored once, with the next seq.
    const deadline = Date.now() + 20_000;
    let stored: Msg | undefined;
    while (!stored && Date.now() < deadline) {
      stored = await again
        .call<{ message: Msg }>('message.send', { conversationId: id, clientMsgId: 'k13', body: 'while down' })
        .then((r) => r.message)
        .catch(() => undefined);
      if (!stored) await new Promise((r) => setTimeout(r, 200));
    }
    expect(stored?.seq).toBe(13);
  }, 90_000);
}
