import type { QueryReply, QueryRequest } from '@chat/proto';
import { type Logger, botTokenHash, isWellFormedBotToken, looksLikeBotToken } from '@chat/platform';
import { RemoteError, UnauthorizedError } from '../errors.js';
import type { AuthenticatedUser, TokenVerifier } from './token-authority.js';

/** What the verifier needs of BackendClient (routing/backend-client.ts): one query with a retry budget. */
export interface BotTokenBackend {
  query(req: QueryRequest, options?: { budgetMs?: number }): Promise<Exclude<NonNullable<QueryReply['result']>, { $case: 'failure' }>>;
}

/** Default budget of one verification (first try and retries while no query service answers). */
export const DEFAULT_VERIFY_BUDGET_MS = 2000;
/** Default interval of watch(): how long an open stream may outlive its token's revocation, plus one query. */
export const DEFAULT_RECHECK_MS = 5000;

/** An authenticated bot: an AuthenticatedUser with `bot: true` and no expiry (bot tokens live until revoked). */
export interface AuthenticatedBot extends AuthenticatedUser {
  bot: true;
}

/** A running re-check of one bot token (watch()); stop() ends it. */
export interface BotTokenWatch {
  stop(): void;
}

/**
 * Verifies bot tokens (`chat bot create`) for the gRPC API. A token is
 * recognized by its `chatbot_` prefix, hashed here (SHA-256; the token itself
 * never crosses the bus) and looked up by the query service
 * (`verifyBotToken`), which reads the store.
 *
 * Revocation: there is no positive cache. Every verify() is one query, so a
 * token revoked (`chat bot revoke`, committed to the store) is refused on its
 * next call, by every gateway. Long-lived calls (streams) use watch(), which
 * re-verifies every `recheckMs`: a stream outlives its token's revocation by
 * at most recheckMs plus one query (a few ms; up to the verify budget while
 * no query service answers).
 *
 * Failures: a token that is malformed, unknown or revoked is refused with
 * UnauthorizedError (code `unauthorized`, gRPC UNAUTHENTICATED). When the
 * backend cannot answer, verify() rejects with its BackendUnavailableError
 * (code `unavailable`), not UnauthorizedError: the token may be fine.
 */
export class BotTokenVerifier {
  readonly #budgetMs: number;
  readonly #recheckMs: number;

  constructor(
    private readonly backend: BotTokenBackend,
    private readonly logger: Logger,
    options: { budgetMs?: number; recheckMs?: number } = {},
  ) {
    this.#budgetMs = options.budgetMs ?? DEFAULT_VERIFY_BUDGET_MS;
    this.#recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  }

  /** Whether `token` is a bot token (by its prefix), so verify() is the verifier for it and a JWT verifier is not. */
  static handles(token: string): boolean {
    return looksLikeBotToken(token);
  }

  /**
   * The bot the token belongs to, asked of the query service now. Rejects with
   * UnauthorizedError saying why (not a bot token, malformed, unknown or
   * revoked), or with the backend's error when it could not answer.
   */
  async verify(token: string): Promise<AuthenticatedBot> {
    if (!looksLikeBotToken(token)) throw new UnauthorizedError('not a bot token');
    // A wrong shape cannot be a token we issued: refused without a query.
    if (!isWellFormedBotToken(token)) throw new UnauthorizedError('bot token malformed');
    let result;
    try {
      result = await this.backend.query(
        { caller: undefined, op: { $case: 'verifyBotToken', value: { tokenHash: botTokenHash(token) } } },
        { budgetMs: this.#budgetMs },
      );
    } catch (err) {
      if (err instanceof RemoteError && err.code === 'unauthorized') throw new UnauthorizedError('bot token unknown or revoked', { cause: err });
      throw err;
    }
    if (result.$case !== 'bot') throw new RemoteError('internal', `verifyBotToken answered ${result.$case}`);
    const bot = result.value;
    return { id: bot.id, name: bot.name, expiresAt: undefined, bot: true };
  }

  /**
   * Re-verifies `token` every recheckMs while a long-lived call runs, and
   * calls `onRevoked` once (with the UnauthorizedError) when it is refused;
   * the caller then closes the call (gRPC: UNAUTHENTICATED). A check the
   * backend could not answer is logged and tried again at the next tick: an
   * outage of the query service does not close open streams, and new calls
   * are still refused with `unavailable` meanwhile. Stops after onRevoked or stop().
   */
  watch(token: string, onRevoked: (err: UnauthorizedError) => void): BotTokenWatch {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        await this.verify(token);
      } catch (err) {
        if (stopped) return;
        if (err instanceof UnauthorizedError) {
          stopped = true;
          onRevoked(err);
          return;
        }
        this.logger.warn({ err }, 'could not re-verify a bot token; trying again at the next check');
      }
      if (!stopped) schedule();
    };
    const schedule = () => {
      timer = setTimeout(() => void tick(), this.#recheckMs);
      // A watch never keeps the process alive on its own.
      timer.unref();
    };
    schedule();
    return {
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}

/**
 * The caller of a bearer token, whichever kind it is: a bot token goes to
 * `bots`, anything else to the JWT verifier. What the gRPC API does with an
 * `authorization: Bearer <token>` header; rejects as the chosen verifier does.
 */
export async function authenticateBearer(token: string, verifiers: { jwt: TokenVerifier; bots: BotTokenVerifier }): Promise<AuthenticatedUser> {
  return BotTokenVerifier.handles(token) ? verifiers.bots.verify(token) : verifiers.jwt.verify(token);
}
