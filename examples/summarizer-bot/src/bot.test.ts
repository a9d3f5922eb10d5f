import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConversationJson, MessageJson } from '@chat/proto';
import type { ChatClient } from '@chat/testkit/chat-client';
import { useStandalone } from '@chat/testkit/standalone-fixture';
import { createBot } from '@chat/testkit/system-under-test';
import { SummarizerBot } from './bot.js';

type Msg = MessageJson;

/** A local OpenAI-compatible endpoint that streams `pieces` as server-sent events and records the prompts it got. */
async function fakeModel(pieces: string[]): Promise<{ url: string; server: Server; prompts: string[] }> {
  const prompts: string[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[] };
      prompts.push(body.messages.find((m) => m.role === 'user')?.content ?? '');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const next = () => {
        if (i === pieces.length) {
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: pieces[i++] } }] })}\n\n`);
        setTimeout(next, 10);
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, prompts };
}

describe('the summarizer example bot against a real standalone server', () => {
  const { system, login } = useStandalone();
  const cleanups: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function start(extra: Partial<ConstructorParameters<typeof SummarizerBot>[0]> = {}) {
    const { userId, token } = await createBot(system().dataDir, 'Summarizer');
    const bot = new SummarizerBot({ target: `127.0.0.1:${system().grpcPort}`, token, wordDelayMs: 2, log: () => {}, ...extra });
    bot.start();
    cleanups.push(() => bot.stop());
    return { bot, userId };
  }

  async function groupWith(owner: ChatClient, ids: string[]) {
    const { conversation } = await owner.call<{ conversation: ConversationJson }>('conversation.create_group', { title: 'Release', members: ids });
    return conversation.id;
  }

  async function say(c: ChatClient, conversationId: string, body: string) {
    return (await c.call<{ message: Msg }>('message.send', { conversationId, clientMsgId: `${Math.random()}`, body })).message;
  }

  /** The bot's answer as `c` sees it: message.new streaming, then the final message.updated. */
  async function answerSeenBy(c: ChatClient, conversationId: string, botId: string) {
    const [started] = await c.waitForEvents((e) => e.ev === 'message.new' && (e.message as Msg).senderId === botId && (e.message as Msg).conversationId === conversationId, 1, 15_000);
    const seq = (started!.message as Msg).seq;
    const [final] = await c.waitForEvents((e) => e.ev === 'message.updated' && (e.message as Msg).seq === seq && (e.message as Msg).conversationId === conversationId && (e.message as Msg).streaming === false, 1, 15_000);
    const deltas = c.events.filter((e) => e.ev === 'message.delta' && e.seq === seq && e.conversationId === conversationId);
    return { started: started!.message as Msg, final: final!.message as Msg, deltas };
  }

  it('answers /summarize n with an extractive summary of the n messages before it, streamed into one message', async () => {
    const { userId } = await start();
    const ann = await login('Ann Sum');
    const ben = await login('Ben Sum');
    const id = await groupWith(ann, [ben.user.id, userId]);
    await say(ann, id, 'Off topic: lunch at noon?');
    await say(ann, id, 'The release moves to Friday. QA found a crash in the upload path.');
    await say(ben, id, 'The upload crash happens with files over 2 GB. I have a fix for the upload path.');
    await say(ann, id, 'Great, ship the upload fix before the Friday release.');
    await say(ben, id, '/summarize 3');

    const { started, final, deltas } = await answerSeenBy(ben, id, userId);
    expect(started.streaming).toBe(true);
    expect(deltas.length).toBeGreaterThan(0); // it grew in place
    expect(final.body).toMatch(/^Summary of 3 messages \(topics: upload/);
    expect(final.body).not.toMatch(/lunch/); // only the 3 messages before the command
    // Each line names its author by display name (GetUsers), not by user id.
    expect(final.body).toMatch(/\n- (Ann|Ben) Sum: /);
    expect(final.body).not.toContain(ben.user.id);
    expect(final.truncated).toBe(false);
  });

  it('with an OpenAI-compatible endpoint set, streams the model\u2019s answer, having sent it the conversation', async () => {
    const model = await fakeModel(['The team ', 'ships the upload ', 'fix Friday.']);
    cleanups.push(() => model.server.close());
    const { userId } = await start({ llm: { baseUrl: model.url, model: 'test-model' } });
    const cy = await login('Cy Sum');
    const id = await groupWith(cy, [userId]);
    await say(cy, id, 'Can we ship the upload fix on Friday?');
    await say(cy, id, '/summarize');
    const { final } = await answerSeenBy(cy, id, userId);
    expect(final.body).toBe('The team ships the upload fix Friday.');
    expect(model.prompts[0]).toContain('Cy Sum: Can we ship the upload fix on Friday?');
  });
});
