import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LlmError, streamCompletion } from './llm.js';

/** A local HTTP server that streams server-sent events like an OpenAI-compatible endpoint. */
function sseServer(handler: (body: Record<string, unknown>, write: (data: string) => void, end: () => void, status: (code: number) => void) => void): Promise<{ url: string; server: Server; requests: Record<string, unknown>[] }> {
  const requests: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += String(c)));
    req.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      requests.push({ ...body, path: req.url, authorization: req.headers.authorization });
      let started = false;
      const start = (code = 200) => {
        if (started) return;
        started = true;
        res.writeHead(code, { 'content-type': code === 200 ? 'text/event-stream' : 'application/json' });
      };
      handler(body, (data) => (start(), res.write(data)), () => (start(), res.end()), (code) => start(code));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests })));
}

const chunk = (content: string) => `data: ${JSON.stringify({ choices: [{ delta: { content } }] })}\n\n`;

describe('streamCompletion against a local server-sent-events endpoint', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('posts the conversation with stream: true and yields the deltas as they come, split across network chunks', async () => {
    const s = await sseServer((_body, write, end) => {
      write(': keep-alive comment\n\n');
      write(chunk('The team '));
      const split = chunk('ships Friday.');
      write(split.slice(0, 10));
      setTimeout(() => {
        write(split.slice(10));
        write(`data: ${JSON.stringify({ choices: [{ delta: {} }] })}\r\n\r\n`);
        write('data: [DONE]\n\n');
        end();
      }, 20);
    });
    server = s.server;
    const pieces: string[] = [];
    for await (const text of streamCompletion({ baseUrl: `${s.url}/`, model: 'tiny', apiKey: 'k' }, 'Summarize.', 'Ann: ship it')) pieces.push(text);
    expect(pieces).toEqual(['The team ', 'ships Friday.']);
    expect(s.requests[0]).toMatchObject({
      path: '/v1/chat/completions',
      model: 'tiny',
      stream: true,
      authorization: 'Bearer k',
      messages: [
        { role: 'system', content: 'Summarize.' },
        { role: 'user', content: 'Ann: ship it' },
      ],
    });
  });

  it('fails with LlmError on an HTTP error, an error event, or an unreachable endpoint', async () => {
    const s = await sseServer((body, write, end, status) => {
      if (body.model === 'missing') {
        status(404);
        write('{"error":"no such model"}');
        return end();
      }
      write(chunk('partial '));
      write(`data: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`);
      end();
    });
    server = s.server;
    const drain = async (model: string, baseUrl = s.url) => {
      const out: string[] = [];
      for await (const t of streamCompletion({ baseUrl, model }, 's', 'p')) out.push(t);
      return out;
    };
    await expect(drain('missing')).rejects.toThrow(/HTTP 404.*no such model/);
    await expect(drain('any')).rejects.toThrow(LlmError);
    await expect(drain('any', 'http://127.0.0.1:1')).rejects.toThrow(/cannot reach/);
  });
});
