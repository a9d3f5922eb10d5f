import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { deployRoot } from '../paths.js';
import { chromiumAvailable } from '@chat/testkit/chromium';
import { webSuite } from '@chat/testkit/web-suite';

/**
 * Where the screenshots web/README.md shows go: web/docs with
 * UPDATE_DOCS_SHOTS=1 (they are committed), else web/results/docs, so an
 * ordinary run leaves the committed ones alone.
 */
const DOCS = join(deployRoot(), '..', 'web', process.env['UPDATE_DOCS_SHOTS'] === '1' ? 'docs' : 'results/docs');
const SHOT_MAX_BYTES = 150 * 1024;

/**
 * Records every desktop notification the page shows in `window.__notes`
 * instead of (as well as not) showing it; permission and its request go to
 * the real API, so the grant given to the context is what the page sees.
 */
const CAPTURE_NOTIFICATIONS = `(() => {
  const Real = window.Notification;
  window.__notes = [];
  class Captured {
    constructor(title, options) { window.__notes.push({ title, body: options && options.body, tag: options && options.tag }); }
    close() {}
    static get permission() { return Real.permission; }
    static requestPermission(...args) { return Real.requestPermission(...args); }
  }
  window.Notification = Captured;
})();`;

/**
 * Every visible text on the page whose contrast with what is behind it is
 * below WCAG AA (4.5:1; 3:1 for large text), as "text: ratio". The
 * background is the element's and its ancestors' backgrounds composited
 * (colour alpha included; CSS opacity and images are not looked at).
 */
function lowContrastTexts(): string[] {
  type Rgba = [number, number, number, number];
  const parse = (c: string): Rgba => {
    const n = c.match(/[\d.]+/g)!.map(Number);
    return [n[0]!, n[1]!, n[2]!, n[3] ?? 1];
  };
  const over = (top: Rgba, under: Rgba): Rgba => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = (i: number) => (top[i]! * top[3] + under[i]! * under[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const luminance = (c: Rgba) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const x = v / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const backdrop = (el: Element | null): Rgba => {
    const layers: Rgba[] = [];
    for (let e = el; e; e = e.parentElement) layers.push(parse(getComputedStyle(e).backgroundColor));
    let bg: Rgba = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const out: string[] = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && /[A-Za-z0-9]/.test(n.textContent ?? '')).map((n) => n.textContent!.trim());
    if (own.length === 0 || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || (el as HTMLButtonElement).disabled) continue;
    const bg = backdrop(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((x, y) => y - x) as [number, number];
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) out.push(`${own.join(' ').slice(0, 40)}: ${ratio.toFixed(2)}`);
  }
  return out;
}

interface Note {
  title: string;
  body: string;
  tag: string;
}

const haveChromium = chromiumAvailable('web client polish browser test');

describe.skipIf(!haveChromium)('web client looks and edges in Chromium, against the real server', () => {
  const web = webSuite('chat-web-polish-');
  const errors: string[] = [];

  async function open(name: string, options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await web.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${name}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
    return { context, page };
  }

  /** Signs `page` in as `name` (dev login: the same name is the same user). */
  async function signInOn(page: Page, name: string): Promise<Page> {
    await page.goto(web.server.baseUrl);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await online(page);
    return page;
  }

  async function signIn(name: string, options: BrowserContextOptions = {}): Promise<Page> {
    const { page } = await open(name, options);
    return signInOn(page, name);
  }

  const online = (page: Page) => page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 10_000 });
  const log = (page: Page) => page.getByRole('log', { name: 'Messages' });
  const composer = (page: Page) => page.getByLabel('Message', { exact: true });
  const conversationButton = (page: Page, name: string | RegExp) => page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name });

  /** `from` opens a DM with `to` through the user search. */
  async function dm(from: Page, to: string): Promise<void> {
    await from.getByRole('searchbox', { name: 'Search users' }).fill(to.toLowerCase());
    await from.getByRole('button', { name: `Message ${to}` }).click();
    // The DM is open (not still the conversation that was open before).
    await from.getByRole('region', { name: to }).waitFor();
  }

  async function say(page: Page, text: string): Promise<void> {
    await composer(page).fill(text);
    await composer(page).press('Enter');
    await log(page).getByText(text).waitFor();
  }

  const cleanErrors = () => errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e));

  it('"Seen by" survives a reload for both users and shows on a second device', async () => {
    errors.length = 0;
    const ann = await signIn('Ann Seen');
    const bob = await signIn('Bob Seen');
    await dm(ann, 'Bob Seen');
    await say(ann, 'Did you get the tickets?');
    // Bob opens the DM, so reads it, and answers; Ann has it open, so reads his answer.
    await conversationButton(bob, /Ann Seen/).click();
    await log(bob).getByText('Did you get the tickets?').waitFor();
    await say(bob, 'Yes, two of them');
    await log(ann).getByText('Yes, two of them').waitFor();
    await say(ann, 'Great');
    await log(ann).getByText('Seen by Bob Seen').waitFor({ timeout: 5000 });
    await log(bob).getByText('Great').waitFor();

    // Both reload: the marks come back with the conversation, not from the receipt events they missed.
    for (const [page, peer] of [
      [ann, 'Bob Seen'],
      [bob, 'Ann Seen'],
    ] as const) {
      await page.reload();
      await online(page);
      await conversationButton(page, new RegExp(peer)).click();
      await log(page).getByText(`Seen by ${peer}`).waitFor({ timeout: 5000 });
    }

    // Ann on a second device that never saw any of it.
    const annPhone = await signIn('Ann Seen', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await conversationButton(annPhone, /Bob Seen/).click();
    await log(annPhone).getByText('Great').waitFor();
    await log(annPhone).getByText('Seen by Bob Seen').waitFor({ timeout: 5000 });
    expect(cleanErrors()).toEqual([]);
  });

  it('a DM header says "online", then "last seen" once the peer has left', async () => {
    errors.length = 0;
    const ivy = await signIn('Ivy Present');
    const { context: jonContext, page: jon } = await open('Jon Present');
    await signInOn(jon, 'Jon Present');
    await dm(ivy, 'Jon Present');
    const status = ivy.getByTestId('header-status');
    await status.getByText('online', { exact: true }).waitFor({ timeout: 5000 });
    await expect(conversationButton(ivy, /Jon Present/).getByRole('img', { name: 'online' }).count()).resolves.toBe(1);
    await jonContext.close();
    await status.getByText('last seen just now').waitFor({ timeout: 15_000 });
    await conversationButton(ivy, /Jon Present/).getByRole('img', { name: 'offline' }).waitFor();
    expect(cleanErrors()).toEqual([]);
  });

  it('dark mode follows the system, and the toggle overrides it and is remembered', async () => {
    errors.length = 0;
    const surface = (page: Page) => page.evaluate(() => getComputedStyle(document.querySelector('.top')!).backgroundColor);
    const DARK = 'rgb(26, 31, 39)';
    const LIGHT = 'rgb(255, 255, 255)';

    const { page: dark } = await open('Dee Dark', { colorScheme: 'dark' });
    await signInOn(dark, 'Dee Dark');
    expect(await surface(dark)).toBe(DARK);
    const toggle = dark.getByRole('button', { name: 'Dark theme' });
    await expect(toggle.getAttribute('aria-pressed')).resolves.toBe('true');
    await toggle.click();
    expect(await surface(dark)).toBe(LIGHT);
    await dark.reload();
    await online(dark);
    expect(await surface(dark)).toBe(LIGHT);
    await expect(dark.getByRole('button', { name: 'Dark theme' }).getAttribute('aria-pressed')).resolves.toBe('false');

    const { page: light } = await open('Lee Light', { colorScheme: 'light' });
    await signInOn(light, 'Lee Light');
    expect(await surface(light)).toBe(LIGHT);
    // The toggle is reachable from the keyboard, with a visible focus ring.
    await light.getByRole('button', { name: 'Dark theme' }).focus();
    await light.keyboard.press('Tab');
    await light.keyboard.press('Shift+Tab');
    const ring = await light.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(ring).toBe('solid');
    await light.keyboard.press('Enter');
    expect(await surface(light)).toBe(DARK);
    expect(cleanErrors()).toEqual([]);
  });

  it('Tab reaches every control of the main screen, each with a visible focus ring, in both themes', async () => {
    errors.length = 0;
    await signIn('Kai Keys');
    for (const colorScheme of ['light', 'dark'] as const) {
      const page = await signIn('Kim Keys', { colorScheme });
      if (colorScheme === 'light') await dm(page, 'Kai Keys');
      else await conversationButton(page, /Kai Keys/).click();
      await say(page, `hello in ${colorScheme}`);
      await page.locator('body').focus();
      const reached: { name: string; ring: boolean }[] = [];
      // Enough for the top bar, the list, the header and two messages with their action bars.
      for (let i = 0; i < 45; i++) {
        await page.keyboard.press('Tab');
        reached.push(
          await page.evaluate(() => {
            const el = document.activeElement as HTMLElement;
            // Past the last control the focus leaves the page, and comes back to the first.
            if (el === document.body) return { name: 'BODY', ring: true };
            const style = getComputedStyle(el);
            const name = el.getAttribute('aria-label') ?? el.getAttribute('placeholder') ?? el.textContent?.trim().slice(0, 30) ?? el.tagName;
            return { name, ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
          }),
        );
      }
      expect(reached.filter((r) => !r.ring), colorScheme).toEqual([]);
      const names = reached.map((r) => r.name);
      for (const control of ['Search messages…', 'Desktop notifications', 'Dark theme', 'Sign out', 'Find people…', 'New group', 'Mute notifications for this conversation', 'Messages', 'More reactions', 'Write a message']) {
        expect(names.some((n) => n === control || n.startsWith(control)), `${control} in ${names.join(' | ')}`).toBe(true);
      }
      await page.context().close();
    }
    expect(cleanErrors()).toEqual([]);
  });

  it('a desktop notification shows for a conversation not in view, not for the one in view, and not when muted', async () => {
    errors.length = 0;
    const { context, page: ann } = await open('Ann Notify');
    await context.grantPermissions(['notifications'], { origin: web.server.baseUrl });
    await context.addInitScript(CAPTURE_NOTIFICATIONS);
    await signInOn(ann, 'Ann Notify');
    const bob = await signIn('Bob Notify');
    const cat = await signIn('Cat Notify');
    await dm(bob, 'Ann Notify');
    await say(bob, 'first, before the bell');
    await dm(cat, 'Ann Notify');
    await say(cat, 'hello from Cat');
    await conversationButton(ann, /Bob Notify/).waitFor();
    await conversationButton(ann, /Cat Notify/).waitFor();
    const notes = () => ann.evaluate(() => (window as unknown as { __notes: Note[] }).__notes);

    // Ann turns notifications on with the bell, and has Cat's DM open.
    const bell = ann.getByRole('button', { name: 'Desktop notifications' });
    await bell.click();
    await expect(bell.getAttribute('aria-pressed')).resolves.toBe('true');
    await conversationButton(ann, /Cat Notify/).click();
    await log(ann).getByText('hello from Cat').waitFor();

    await say(bob, 'are you coming tonight?');
    await expect.poll(notes, { timeout: 5000 }).toEqual([expect.objectContaining({ title: 'Bob Notify', body: 'are you coming tonight?' })]);

    // Cat writes in the conversation Ann is reading: no notification.
    await say(cat, 'in view, no bell');
    await log(ann).getByText('in view, no bell').waitFor();

    // Ann mutes Bob's DM: his next message stays quiet.
    await conversationButton(ann, /Bob Notify/).click();
    await ann.getByRole('button', { name: 'Mute notifications for this conversation' }).click();
    await conversationButton(ann, /Cat Notify/).click();
    await say(bob, 'muted, no bell');
    await conversationButton(ann, /Bob Notify/).getByText('muted, no bell').waitFor();
    await say(cat, 'still in view');
    await log(ann).getByText('still in view').waitFor();
    expect((await notes()).map((n) => n.body)).toEqual(['are you coming tonight?']);

    // Someone new writes: their DM did not exist when the page loaded, and still notifies.
    const dan = await signIn('Dan Notify');
    await dm(dan, 'Ann Notify');
    await say(dan, 'hi, we have not met');
    await expect.poll(async () => (await notes()).map((n) => n.title), { timeout: 5000 }).toEqual(['Bob Notify', 'Dan Notify']);
    expect(cleanErrors()).toEqual([]);
  });

  /** The placeholder's text width and the room the field leaves it (px), in the field's own font. */
  const placeholderRoom = (field: Locator) =>
    field.evaluate((el: HTMLInputElement) => {
      const style = getComputedStyle(el);
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = `${style.fontSize} ${style.fontFamily}`;
      const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return { placeholder: el.placeholder, text: ctx.measureText(el.placeholder).width, room };
    });

  it('a user search with no match says so, and the search placeholders fit at 1280 px and on a phone', async () => {
    errors.length = 0;
    await signIn('Noa Found');
    const page = await signIn('Nia Search');
    const search = page.getByRole('searchbox', { name: 'Search users' });
    await search.fill('zzq nobody here');
    await page.getByRole('status').filter({ hasText: 'No one found' }).waitFor({ timeout: 5000 });
    await search.fill('noa');
    await page.getByRole('button', { name: 'Message Noa Found' }).waitFor();
    await expect(page.getByRole('status').filter({ hasText: 'No one found' }).count()).resolves.toBe(0);
    await search.fill('');
    const messageSearch = (p: Page) => p.getByRole('search', { name: 'Search messages' }).getByRole('textbox');
    for (const field of [search, messageSearch(page)]) {
      const fits = await placeholderRoom(field);
      expect(fits.text, `"${fits.placeholder}" at 1280 px`).toBeLessThanOrEqual(fits.room);
    }
    await expect(messageSearch(page).getAttribute('placeholder')).resolves.toBe('Search messages…');
    // On a phone the top bar leaves the message search little room: its placeholder is shorter there.
    const phone = await signIn('Nia Search', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const fits = await placeholderRoom(messageSearch(phone));
    expect(fits.text, `"${fits.placeholder}" at 390 px`).toBeLessThanOrEqual(fits.room);
    expect(fits.placeholder).toBe('Search…');
    expect(cleanErrors()).toEqual([]);
  });

  it('the tab title counts unread messages, and drops the count once they are read', async () => {
    errors.length = 0;
    const tia = await signIn('Tia Title');
    const uma = await signIn('Uma Title');
    await expect(tia.title()).resolves.toBe('Chat');
    await dm(uma, 'Tia Title');
    await say(uma, 'one');
    await say(uma, 'two');
    await expect.poll(() => tia.title(), { timeout: 5000 }).toBe('(2) Chat');
    await conversationButton(tia, /Uma Title/).click();
    await log(tia).getByText('two').waitFor();
    await expect.poll(() => tia.title(), { timeout: 5000 }).toBe('Chat');
    expect(cleanErrors()).toEqual([]);
  });

  it('on a phone the composer hint leaves out Shift+Enter, and Enter breaks the line', async () => {
    errors.length = 0;
    await signIn('Val Phone');
    const vic = await signIn('Vic Phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await dm(vic, 'Val Phone');
    const box = composer(vic);
    await expect(box.getAttribute('placeholder')).resolves.not.toContain('Shift+Enter');
    await box.fill('line one');
    await box.press('Enter');
    await box.pressSequentially('line two');
    await expect(box.inputValue()).resolves.toBe('line one\nline two');
    await vic.getByRole('button', { name: 'Send' }).click();
    await log(vic).getByText(/line one\s+line two/).waitFor();
    expect(cleanErrors()).toEqual([]);
  });

  /**
   * Opens the reaction picker of a message row: its button shows while the
   * pointer is over the row, and the row can grow under a still pointer
   * ("Seen by" arriving), so hovering is repeated until the click lands.
   */
  async function openPicker(message: Locator): Promise<void> {
    const tryOnce = async () => {
      await message.hover();
      return message
        .getByRole('button', { name: 'More reactions' })
        .click({ timeout: 2000 })
        .then(() => true, () => false);
    };
    await expect.poll(tryOnce, { timeout: 20_000, interval: 100 }).toBe(true);
  }

  it('the reaction picker finds an emoji by name and keeps it among the recently used', async () => {
    errors.length = 0;
    await signIn('Wil React');
    const wes = await signIn('Wes React');
    await dm(wes, 'Wil React');
    await say(wes, 'react to me');
    const message = log(wes).locator('article.msg').filter({ hasText: 'react to me' });
    await openPicker(message);
    const picker = wes.getByRole('dialog', { name: 'Pick a reaction' });
    await picker.getByRole('textbox', { name: 'Search emoji' }).fill('rocket');
    await picker.getByRole('button', { name: 'rocket' }).click();
    await message.getByRole('button', { name: '🚀 1' }).waitFor({ timeout: 5000 });
    await expect(wes.evaluate(() => localStorage.getItem('chat.emoji.recent'))).resolves.toBe('["🚀"]');
    // Reopened, the recent one comes first; Escape closes.
    await openPicker(message);
    await expect(picker.getByRole('group', { name: 'Emoji' }).getByRole('button').first().getAttribute('aria-label')).resolves.toBe('rocket');
    await wes.keyboard.press('Escape');
    await picker.waitFor({ state: 'detached' });
    expect(cleanErrors()).toEqual([]);
  });

  it('screenshots for web/README.md: desktop and phone, light and dark, every text meeting WCAG AA contrast', async () => {
    mkdirSync(DOCS, { recursive: true });
    const zoe = await signIn('Zoe Shots');
    const yan = await signIn('Yan Shots');
    const xi = await signIn('Xi Shots');
    // A group with all three, where everyone has read Zoe's last message…
    await zoe.getByRole('button', { name: 'New group' }).click();
    await zoe.getByRole('form', { name: 'New group' }).getByLabel('Group name').fill('Design review');
    for (const name of ['Yan Shots', 'Xi Shots']) {
      await zoe.getByRole('searchbox', { name: 'Search users' }).fill(name.toLowerCase());
      await zoe.getByRole('checkbox', { name: `Add ${name} to group` }).check();
    }
    await zoe.getByRole('button', { name: 'Create group' }).click();
    await say(zoe, 'Morning! The new onboarding screens are up for review.');
    for (const page of [yan, xi]) await conversationButton(page, /Design review/).click();
    await say(yan, 'Looked at them on my phone: the first step reads much better 📱');
    await say(xi, 'Agreed. Can we ship on Friday?');
    await say(zoe, 'Friday it is, thanks both!');
    await log(zoe).getByText(/Seen by (Yan Shots, Xi Shots|Xi Shots, Yan Shots)/).waitFor({ timeout: 5000 });
    // …and a DM from Yan that Zoe has not read (the unread badge, "(1) Chat").
    await dm(yan, 'Zoe Shots');
    await say(yan, 'Lunch after the review?');
    await conversationButton(yan, /Design review/).click();

    const shots: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      for (const [kind, options] of [
        ['desktop', { viewport: { width: 1280, height: 800 } }],
        ['phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }],
      ] as const) {
        const page = await signIn('Zoe Shots', { ...options, colorScheme: scheme });
        await conversationButton(page, /Design review/).click();
        await log(page).getByText(/Seen by (Yan Shots, Xi Shots|Xi Shots, Yan Shots)/).waitFor({ timeout: 5000 });
        // Xi starts typing: the header says so.
        await composer(xi).pressSequentially('Great', { delay: 20 });
        await page.getByText('Xi Shots is typing…').waitFor({ timeout: 5000 });
        // The list too (on a phone it is hidden while a conversation is open).
        if (kind === 'desktop') await conversationButton(page, /Design review/).getByText('Xi Shots typing…').waitFor();
        expect(await page.evaluate(lowContrastTexts), `${kind} ${scheme}`).toEqual([]);
        const path = join(DOCS, `${kind}-${scheme}.png`);
        await page.screenshot({ path, scale: 'css' });
        shots.push(path);
        await composer(xi).fill('');
        await page.context().close();
      }
    }
    for (const path of shots) expect(statSync(path).size, path).toBeLessThan(SHOT_MAX_BYTES);
  });
});
