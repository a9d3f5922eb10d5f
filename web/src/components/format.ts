/** Short time for list and message stamps: hh:mm today, else a short date. */
export function shortTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** The heading of a day separator. */
export function dayLabel(ms: number, now = Date.now()): string {
  const d = new Date(ms).toDateString();
  if (d === new Date(now).toDateString()) return 'Today';
  if (d === new Date(now - 86_400_000).toDateString()) return 'Yesterday';
  return new Date(ms).toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}
