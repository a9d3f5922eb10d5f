import { PlatformError } from '@chat/platform';

/** A call on a closed PresenceBackend. Retryable elsewhere or later. */
export class PresenceClosedError extends PlatformError {
  readonly code = 'unavailable';
  constructor() {
    super('the presence backend is closed');
  }
}

/** The presence store (Redis) could not be reached or answered an error; presence is degraded, chat is not. Retryable. */
export class PresenceUnavailableError extends PlatformError {
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The presence store lost its data (Redis restarted empty) less than one
 * rebuild window ago, and a user asked about holds no session in it yet: they
 * may be online on a gateway that has not re-reported them. Answered
 * `unavailable`, never a possibly wrong `offline`. Retryable.
 */
export class PresenceRebuildingError extends PresenceUnavailableError {
  constructor(readonly until: number) {
    super(`presence is being rebuilt after its store lost its data (until ${new Date(until).toISOString()}); retry`);
  }
}
