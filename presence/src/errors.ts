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
