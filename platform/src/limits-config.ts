import { z } from 'zod';
import { DEFAULT_LIMITS, type ProtocolLimits } from '@chat/proto';
import { envInt } from './config.js';

/**
 * The protocol limits as environment variables, shared by every role's
 * schema so gateways and actors enforce the same numbers.
 */
export const limitsEnv = {
  MAX_FRAME_BYTES: envInt(DEFAULT_LIMITS.maxFrameBytes, 1024, 16 * 1024 * 1024),
  MAX_BODY_CHARS: envInt(DEFAULT_LIMITS.maxBodyChars, 1, 1_000_000),
  MAX_ATTACHMENTS: envInt(DEFAULT_LIMITS.maxAttachments, 0, 100),
  MAX_ATTACHMENT_BYTES: envInt(DEFAULT_LIMITS.maxAttachmentBytes, 1, Number.MAX_SAFE_INTEGER),
  MAX_TITLE_CHARS: envInt(DEFAULT_LIMITS.maxTitleChars, 1, 1000),
  MAX_GROUP_MEMBERS: envInt(DEFAULT_LIMITS.maxGroupMembers, 2, 100_000),
  /** Most members a conversation view lists (docs/protocol.md, "Member paging"); at least 2, so a DM is always whole. */
  VIEW_MEMBERS: envInt(DEFAULT_LIMITS.viewMembers, 2, 10_000),
  ALLOWED_MEDIA_TYPES: z
    .string()
    .optional()
    .transform((v) => (v === undefined ? [...DEFAULT_LIMITS.allowedMediaTypes] : v.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))),
};

type LimitsEnv = { [K in keyof typeof limitsEnv]: z.output<(typeof limitsEnv)[K]> };

/** The ProtocolLimits a parsed environment describes. */
export function limitsFromEnv(env: LimitsEnv): ProtocolLimits {
  return {
    ...DEFAULT_LIMITS,
    maxFrameBytes: env.MAX_FRAME_BYTES,
    maxBodyChars: env.MAX_BODY_CHARS,
    maxAttachments: env.MAX_ATTACHMENTS,
    maxAttachmentBytes: env.MAX_ATTACHMENT_BYTES,
    maxTitleChars: env.MAX_TITLE_CHARS,
    maxGroupMembers: env.MAX_GROUP_MEMBERS,
    viewMembers: env.VIEW_MEMBERS,
    allowedMediaTypes: env.ALLOWED_MEDIA_TYPES,
  };
}
