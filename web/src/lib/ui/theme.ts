/** The stored theme choice: absent means "follow the system" (prefers-color-scheme). */
export type Theme = 'light' | 'dark';

const KEY = 'chat.theme';

/** The theme the user chose with the toggle, if any. */
export function storedTheme(storage: Pick<Storage, 'getItem'> = localStorage): Theme | undefined {
  try {
    const v = storage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : undefined;
  } catch {
    return undefined; // storage disabled: follow the system
  }
}

/** The theme in effect: the stored choice, else the system's. */
export function effectiveTheme(stored: Theme | undefined, systemDark: boolean): Theme {
  return stored ?? (systemDark ? 'dark' : 'light');
}

/**
 * Flips the theme in effect and remembers the choice; a choice equal to the
 * system's is forgotten instead, so the page follows the system again if it
 * changes later. Returns the stored choice.
 */
export function toggleTheme(current: Theme, systemDark: boolean, storage: Pick<Storage, 'setItem' | 'removeItem'> = localStorage): Theme | undefined {
  const next: Theme = current === 'dark' ? 'light' : 'dark';
  const stored = next === (systemDark ? 'dark' : 'light') ? undefined : next;
  try {
    if (stored) storage.setItem(KEY, stored);
    else storage.removeItem(KEY);
  } catch {
    // Not persisted (storage disabled); the choice still holds for this page.
  }
  return stored;
}

/** Puts the choice on <html> (app.css reads data-theme); no choice leaves the system's. */
export function applyTheme(stored: Theme | undefined, root: HTMLElement = document.documentElement): void {
  if (stored) root.dataset['theme'] = stored;
  else delete root.dataset['theme'];
}
