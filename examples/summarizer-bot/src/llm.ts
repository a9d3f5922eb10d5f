/**
 * A streaming client of an OpenAI-compatible `/v1/chat/completions`
 * endpoint: posts the conversation with `stream: true` and yields the
 * answer's text as the server-sent events bring it.
 */

export interface LlmOptions {
  /** e.g. http://localhost:11434 (the path /v1/chat/completions is appended). */
  baseUrl: string;
  model: string;
  apiKey?: string | undefined;
  /** Aborts the request (the caller's stream ended). */
  signal?: AbortSignal | undefined;
}

/** The endpoint answered with an error, or broke its stream. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
}

/** Yields the content deltas of the model's answer to `prompt` (a system instruction and the conversation). */
export async function* streamCompletion(options: LlmOptions, system: string, prompt: string): AsyncGenerator<string> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/v1/chat/completions`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: options.model,
        stream: true,
        messages: [
          { role: 'system', content: system },
          { role: 'user', content: prompt },
        ],
      }),
      signal: options.signal ?? null,
    });
  } catch (err) {
    throw new LlmError(`cannot reach ${url}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok || !res.body) throw new LlmError(`${url} answered HTTP ${res.status}: ${(await res.text().catch(() => '')).slice(0, 200)}`);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    // Server-sent events: blocks separated by a blank line, each `data:` line a JSON chunk or [DONE].
    let cut: number;
    while ((cut = buffer.search(/\r?\n\r?\n/)) !== -1) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      for (const line of block.split(/\r?\n/)) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        let parsed: { choices?: { delta?: { content?: string } }[]; error?: { message?: string } };
        try {
          parsed = JSON.parse(data) as typeof parsed;
        } catch (err) {
          throw new LlmError(`unreadable event from ${url}: ${data.slice(0, 100)}`, { cause: err });
        }
        if (parsed.error) throw new LlmError(`${url}: ${parsed.error.message ?? 'error'}`);
        const text = parsed.choices?.[0]?.delta?.content;
        if (text) yield text;
      }
    }
  }
}
