import url from './emoji-data.txt?url';

/**
 * The reaction picker's emoji, each with its Unicode name (what search
 * matches), in picker order: the most used first, then faces, hands,
 * hearts, animals, food, things. 397 entries packed as
 * "<emoji><name>|…" in emoji-data.txt (line breaks allowed after a "|").
 *
 * The table is data, fetched when a picker first opens, not JavaScript: its
 * file is named by its content, so it stays cached across releases (the
 * picker's chunk is renamed by every build, as it imports the app's), the
 * service worker keeps it for offline use like every built file, and it
 * stays out of the JavaScript budget (web/README.md).
 */
let table: Promise<string> | undefined;

/** The packed table; a failed fetch is not remembered, so the next picker tries again. */
export function loadEmojiData(): Promise<string> {
  table ??= fetch(url)
    .then((res) => {
      if (!res.ok) throw new Error(`the emoji list did not load (HTTP ${res.status})`);
      return res.text();
    })
    .catch((err: unknown) => {
      table = undefined;
      throw err;
    });
  return table;
}
