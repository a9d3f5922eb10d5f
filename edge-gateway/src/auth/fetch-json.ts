import { IdentityProviderError } from './token-rejection.js';

/** How long one fetch of a discovery document or key set may take. */
export const DEFAULT_FETCH_TIMEOUT_MS = 5000;

/**
 * GETs `url` and parses its JSON body. Any failure (unreachable, timeout, a
 * status other than 200, not JSON) is an IdentityProviderError naming the URL
 * and what went wrong, with the underlying error as its cause.
 */
export async function fetchJson(url: string, what: string, timeoutMs = DEFAULT_FETCH_TIMEOUT_MS): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new IdentityProviderError(`cannot fetch the ${what} from ${url}: ${reasonOf(err)}`, { cause: err });
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new IdentityProviderError(`cannot fetch the ${what} from ${url}: HTTP ${res.status}`);
  }
  try {
    return await res.json();
  } catch (err) {
    throw new IdentityProviderError(`the ${what} at ${url} is not JSON`, { cause: err });
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
