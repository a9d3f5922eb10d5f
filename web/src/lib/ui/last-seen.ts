import type { PresenceInfo } from '@chat/client';

/**
 * What a DM header says about the peer's presence (docs/protocol.md,
 * "Presence and typing"): "online", "last seen 5 min ago", or nothing when
 * the server has never seen them (lastSeen null while offline) or presence
 * is not known yet.
 */
export function presenceLabel(p: PresenceInfo | undefined, now = Date.now()): string {
  if (!p) return '';
  if (p.online) return 'online';
  if (p.lastSeen === null || p.lastSeen === undefined) return '';
  const ago = Math.max(0, now - p.lastSeen);
  const min = Math.floor(ago / 60_000);
  if (min < 1) return 'last seen just now';
  if (min < 60) return `last seen ${min} min ago`;
  const hours = Math.floor(min / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days === 1) return 'last seen yesterday';
  if (days < 7) return `last seen ${days} days ago`;
  return `last seen ${new Date(p.lastSeen).toLocaleDateString([], { month: 'short', day: 'numeric' })}`;
}
