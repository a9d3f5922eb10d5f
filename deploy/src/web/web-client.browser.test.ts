import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { chatBin, deployRoot } from '../paths.js';
import { ChatClient } from '@chat/testkit/chat-client';
import { chromiumAvailable } from '@chat/testkit/chromium';
import { webSuite } from '@chat/testkit/web-suite';

const run = promisify(execFile);

/** Screenshots of the main screens, for the closing note and for people reviewing the UI. */
const SHOTS = join(deployRoot(), '..', 'web', 'results');

/** The long-history test sends thousands of messages from one socket; the default rate limit would close it. */
const ENV = { RATE_LIMIT_PER_SEC: '1000000', RATE_LIMIT_BURST: '1000000' };

/** How much slower than this machine the long-history test's page runs (CDP CPU throttling). */
const CPU_SLOWDOWN = Number(process.env.WEB_CPU_SLOWDOWN ?? 6);

const haveChromium = chromiumAvailable('web client browser test');

describe.skipIf(!haveChromium)('web client in Chromium, against the real server', () => {
  const web = webSuite('chat-web-', ENV);
  const errors: string[] = [];

  beforeAll(() => {
    mkdirSync(SHOTS, { recursive: true });
  });

  /** A signed-in user in a browser context of their own; console errors and page errors are collected. */
  async function signIn(name: string, width = 1200): Promise<{ context: BrowserContext; page: Page }> {
    const context = await web.browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${name}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
    await page.goto(web.server.baseUrl);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 10_000 });
    return { context, page };
  }

  it('two users chat in a DM: typing, delivery, Seen, and a server restart in the middle', async () => {
    const { page: ann } = await signIn('Ann Web');
    await ann.screenshot({ path: join(SHOTS, '1-signed-in.png') });
    const { page: bob } = await signIn('Bob Web');

    // Ann finds Bob and opens a DM.
    await ann.getByRole('searchbox').fill('bob web');
    await ann.getByRole('button', { name: 'Message Bob Web' }).click();
    const annBox = ann.getByLabel('Message', { exact: true });

    // Typing shows on Bob's side once the conversation exists there.
    await annBox.fill('Hello Bob');
    await annBox.press('Enter');
    await bob.getByRole('button', { name: /Ann Web/ }).click();
    await bob.getByRole('log', { name: 'Messages' }).getByText('Hello Bob').waitFor();
    await annBox.pressSequentially('are you th');
    await bob.getByText('Ann Web is typing…').waitFor({ timeout: 5000 });
    await annBox.press('Enter');
    await bob.getByRole('log', { name: 'Messages' }).getByText('are you th').waitFor();
    await expect(ann.getByRole('log', { name: 'Messages' }).getByText('are you th')).toBeTruthy();

    // Ann sees Bob online in her list (asked when the DM was created), and, since Bob has the
    // conversation open and so has read it, "Seen by".
    await ann.getByRole('img', { name: 'online' }).waitFor({ timeout: 5000 });
    // Bob has the conversation open, so he has read it: Ann sees it.
    await ann.getByText(/Seen by Bob Web/).waitFor({ timeout: 5000 });
    await ann.screenshot({ path: join(SHOTS, '2-dm-seen.png') });
    await bob.screenshot({ path: join(SHOTS, '3-dm-receiver.png') });

    // The server restarts mid-conversation: the banner shows reconnecting, then online.
    await web.stopServer('SIGKILL');
    await ann.getByRole('status', { name: 'Connection' }).filter({ hasText: /Reconnecting/ }).waitFor({ timeout: 10_000 });
    await annBox.fill('sent while the server was down');
    await annBox.press('Enter');
    await ann.getByText('Sending…').waitFor();
    await ann.screenshot({ path: join(SHOTS, '4-reconnecting.png') });
    await web.startServer();
    for (const page of [ann, bob]) {
      await page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 40_000 });
    }
    await bob.getByRole('log', { name: 'Messages' }).getByText('sent while the server was down').waitFor({ timeout: 10_000 });
    await expect(ann.getByText('Sending…').count()).resolves.toBe(0);
    await ann.screenshot({ path: join(SHOTS, '5-after-restart.png') });

    // At phone width the list and the conversation take the screen in turn.
    const { page: cat } = await signIn('Cat Phone', 390);
    await cat.screenshot({ path: join(SHOTS, '6-phone.png') });

    // Chromium itself logs each refused WebSocket connection while the server is down; nothing else may appear.
    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('a group: created with two members, the owner removes one, who loses it while the other sees the change', async () => {
    errors.length = 0;
    const { page: cat } = await signIn('Cat Trip');
    const { page: bob } = await signIn('Bob Trip', 390);
    const { page: ann } = await signIn('Ann Trip');

    // Ann creates "Trip", ticking Bob and Cat in the user search.
    await ann.getByRole('button', { name: 'New group' }).click();
    const form = ann.getByRole('form', { name: 'New group' });
    await form.getByLabel('Group name').fill('Trip');
    const search = ann.getByRole('searchbox', { name: 'Search users' });
    for (const name of ['Bob Trip', 'Cat Trip']) {
      await search.fill(name.toLowerCase());
      await ann.getByRole('checkbox', { name: `Add ${name} to group` }).check();
    }
    await form.getByRole('list', { name: 'Chosen members' }).getByRole('listitem').nth(1).waitFor();
    await form.getByRole('button', { name: 'Create group' }).click();
    const annView = ann.getByRole('region', { name: 'Trip' });
    await annView.getByText('3 members').waitFor();

    // All three have it; Cat opens it, Bob (at phone width) too.
    const list = (page: Page) => page.getByRole('navigation', { name: 'Conversations' });
    await list(cat).getByRole('button', { name: /Trip/ }).click();
    await cat.getByRole('region', { name: 'Trip' }).getByText('3 members').waitFor();
    await list(bob).getByRole('button', { name: /Trip/ }).click();
    const bobView = bob.getByRole('region', { name: 'Trip' });
    await bobView.getByText('3 members').waitFor();

    // Ann, the owner, opens the panel: every member with a role, the owner's actions.
    await annView.getByRole('button', { name: 'Members', exact: true }).click();
    const panel = ann.getByRole('region', { name: /^Members/ });
    await expect(panel.getByRole('listitem').count()).resolves.toBe(3);
    // The role menu shows the member's role, and follows a change (its options carry `selected`).
    const bobRole = panel.getByRole('combobox', { name: 'Role of Bob Trip' });
    await expect(bobRole.inputValue()).resolves.toBe('member');
    await bobRole.selectOption('admin');
    await expect.poll(() => ann.evaluate(() => [...document.querySelectorAll('option[selected]')].map((o) => o.textContent)), { timeout: 5000 }).toEqual(['admin', 'member']);
    await expect(bobRole.inputValue()).resolves.toBe('admin');
    await panel.getByRole('button', { name: 'Remove Cat Trip' }).waitFor();
    await panel.getByRole('textbox', { name: 'Group name' }).waitFor();
    await ann.screenshot({ path: join(SHOTS, '7-group.png') });

    await panel.getByRole('button', { name: 'Remove Cat Trip' }).click();
    await panel.getByRole('button', { name: 'Remove Cat Trip' }).waitFor({ state: 'detached' });
    await annView.getByText('2 members').waitFor();

    // Cat's client drops the conversation: gone from her list, and her open view is closed.
    await list(cat).getByRole('button', { name: /Trip/ }).waitFor({ state: 'detached', timeout: 5000 });
    await cat.getByText('Pick a conversation, or start one.').waitFor();
    await cat.screenshot({ path: join(SHOTS, '8-removed.png') });

    // Bob sees two members; as a plain member his panel offers only leaving.
    await bobView.getByText('2 members').waitFor({ timeout: 5000 });
    await bobView.getByRole('button', { name: 'Members', exact: true }).click();
    const bobPanel = bob.getByRole('region', { name: /^Members/ });
    await expect(bobPanel.getByRole('listitem').count()).resolves.toBe(2);
    await bobPanel.getByRole('button', { name: 'Leave group' }).waitFor();
    await expect(bobPanel.getByRole('button', { name: /^Remove/ }).count()).resolves.toBe(0);
    await expect(bobPanel.getByRole('combobox').count()).resolves.toBe(0);
    // Keyboard: the panel took focus when it opened; Escape closes it and focus returns to its button.
    await bob.keyboard.press('Escape');
    await bobPanel.waitFor({ state: 'detached' });
    await expect(bobView.getByRole('button', { name: 'Members', exact: true }).evaluate((b) => b === document.activeElement)).resolves.toBe(true);

    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('a bot made with `chat bot create` wears a badge in search results and in the member list', async () => {
    errors.length = 0;
    // The operator's command, on the running server's DATA_DIR.
    const created = await run(process.execPath, [chatBin(), 'bot', 'create', '--name', 'Helper Bot'], { env: { ...process.env, DATA_DIR: web.dataDir } });
    expect(created.stdout).toMatch(/^\{"userId":"bot_[0-9a-f]{16}","token":"chatbot_[A-Za-z0-9_-]{43}"\}\n$/);
    const { page: ann } = await signIn('Ann Bots');

    await ann.getByRole('button', { name: 'New group' }).click();
    const form = ann.getByRole('form', { name: 'New group' });
    await form.getByLabel('Group name').fill('With a bot');
    await ann.getByRole('searchbox', { name: 'Search users' }).fill('helper');
    const result = ann.getByRole('list', { name: 'Search results' }).getByRole('listitem').filter({ hasText: 'Helper Bot' });
    await expect(result.locator('.bot-badge').textContent()).resolves.toBe('bot');
    await ann.getByRole('checkbox', { name: 'Add Helper Bot to group' }).check();
    await form.getByRole('button', { name: 'Create group' }).click();
    const view = ann.getByRole('region', { name: 'With a bot' });
    await view.getByText('2 members').waitFor();

    await view.getByRole('button', { name: 'Members', exact: true }).click();
    const panel = ann.getByRole('region', { name: /^Members/ });
    const members = panel.getByRole('listitem');
    await expect(members.count()).resolves.toBe(2);
    await expect(members.filter({ hasText: 'Helper Bot' }).locator('.bot-badge').count()).resolves.toBe(1);
    // People get none.
    await expect(members.filter({ hasText: 'Ann Bots' }).locator('.bot-badge').count()).resolves.toBe(0);
    await ann.screenshot({ path: join(SHOTS, '11-bot-badge.png') });
    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('message actions in a DM: a reaction, an edit and a delete reach the other side; only the sender may edit or delete', async () => {
    errors.length = 0;
    const { page: ada } = await signIn('Ada Acts');
    const { page: ben } = await signIn('Ben Acts');

    // Ada opens a DM with Ben and sends a message; Ben opens it.
    await ada.getByRole('searchbox').fill('ben acts');
    await ada.getByRole('button', { name: 'Message Ben Acts' }).click();
    const adaBox = ada.getByLabel('Message', { exact: true });
    await adaBox.fill('Lunch at noon?');
    await adaBox.press('Enter');
    await ben.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Ada Acts/ }).click();
    // Ada's message (the only one) as each side shows it.
    const onAda = ada.getByRole('log', { name: 'Messages' }).getByRole('article', { name: /^Ada Acts at / });
    const onBen = ben.getByRole('log', { name: 'Messages' }).getByRole('article', { name: /^Ada Acts at / });
    await onBen.getByText('Lunch at noon?').waitFor();

    // Ben hovers it and reacts 👍 from its action bar; Ada sees the chip, with Ben's name in its title.
    await onBen.hover();
    await onBen.getByRole('button', { name: 'React with 👍' }).click();
    const adaChip = onAda.getByRole('button', { name: '👍 1' });
    await adaChip.waitFor({ timeout: 5000 });
    await expect(adaChip.getAttribute('aria-pressed')).resolves.toBe('false');
    await expect(adaChip.getAttribute('title')).resolves.toBe('Ben Acts reacted with 👍');
    await expect(onBen.getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed')).resolves.toBe('true');

    // Ben may react but neither edit nor delete Ada's message in a DM: the buttons do not exist, even hidden.
    await expect(onBen.getByRole('button', { name: 'React with ❤️' }).count()).resolves.toBe(1);
    await expect(onBen.getByRole('button', { name: /^(Edit|Delete) message$/, includeHidden: true }).count()).resolves.toBe(0);
    await expect(onAda.getByRole('button', { name: /^(Edit|Delete) message$/, includeHidden: true }).count()).resolves.toBe(2);

    // Keyboard: from the focused message, Tab enters its action bar.
    await onAda.focus();
    await ada.keyboard.press('Tab');
    await expect(onAda.getByRole('button', { name: 'React with 👍' }).evaluate((b) => b === document.activeElement)).resolves.toBe(true);

    // Ada edits: the body becomes a focused text box; Escape cancels, Enter saves.
    await onAda.getByRole('button', { name: 'Edit message' }).click();
    const editBox = onAda.getByRole('textbox', { name: 'Message text' });
    await expect(editBox.evaluate((t) => t === document.activeElement)).resolves.toBe(true);
    await editBox.fill('never mind');
    await editBox.press('Escape');
    await editBox.waitFor({ state: 'detached' });
    await onAda.getByText('Lunch at noon?').waitFor();
    await onAda.hover();
    await onAda.getByRole('button', { name: 'Edit message' }).click();
    await editBox.fill('Lunch at one instead?');
    await ada.screenshot({ path: join(SHOTS, '10-message-editing.png') });
    await editBox.press('Enter');
    await editBox.waitFor({ state: 'detached' });
    for (const m of [onAda, onBen]) {
      await m.getByText('Lunch at one instead?').waitFor({ timeout: 5000 });
      await m.getByText('(edited)').waitFor();
    }
    await onBen.hover();
    await ben.screenshot({ path: join(SHOTS, '11-message-actions.png') });

    // Ada deletes it after confirming; both sides show the placeholder, with no reactions and no actions left.
    let asked = '';
    ada.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await onAda.hover();
    await onAda.getByRole('button', { name: 'Delete message' }).click();
    for (const m of [onAda, onBen]) {
      await m.getByText('This message was deleted').waitFor({ timeout: 5000 });
      await expect(m.getByRole('button', { includeHidden: true }).count()).resolves.toBe(0);
      await expect(m.getByText('Lunch at one instead?').count()).resolves.toBe(0);
    }
    expect(asked).toMatch(/^Delete this message for everyone\?/);
    await ada.screenshot({ path: join(SHOTS, '12-message-deleted.png') });

    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('replies, a thread and a mention in a group: the quote follows an edit and jumps to the original', async () => {
    errors.length = 0;
    const { page: fay } = await signIn('Fay Mx');
    const { page: eve } = await signIn('Eve Mx');
    await eve.getByRole('button', { name: 'New group' }).click();
    const form = eve.getByRole('form', { name: 'New group' });
    await form.getByLabel('Group name').fill('Plans');
    await eve.getByRole('searchbox', { name: 'Search users' }).fill('fay mx');
    await eve.getByRole('checkbox', { name: 'Add Fay Mx to group' }).check();
    await form.getByRole('button', { name: 'Create group' }).click();
    await eve.getByRole('region', { name: 'Plans' }).getByText('2 members').waitFor();
    const eveBox = eve.getByLabel('Message', { exact: true });
    await eveBox.fill('Where shall we meet?');
    await eveBox.press('Enter');
    for (let i = 0; i < 3; i++) {
      await eveBox.fill(`filler ${i}`);
      await eveBox.press('Enter');
    }
    await fay.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Plans/ }).click();
    const fayLog = fay.getByRole('log', { name: 'Messages' });
    const eveLog = eve.getByRole('log', { name: 'Messages' });
    // Eve's first message (by its label: while it is being edited its text is in a text box).
    const original = (log: typeof fayLog) => log.getByRole('article', { name: /^Eve Mx at / }).first();
    await original(fayLog).getByText('Where shall we meet?').waitFor();

    // Reply: Fay quotes Eve's message from its action bar; both sides show the quote above the reply.
    await original(fayLog).hover();
    await original(fayLog).getByRole('button', { name: 'Reply to message' }).click();
    await fay.getByTestId('replying-to').getByText('Where shall we meet?').waitFor();
    const fayBox = fay.getByLabel('Message', { exact: true });
    await fayBox.fill('At the station');
    await fayBox.press('Enter');
    const reply = (log: typeof fayLog) => log.getByRole('article').filter({ hasText: 'At the station' });
    for (const log of [fayLog, eveLog]) await reply(log).getByTestId('quote').getByText('Where shall we meet?').waitFor({ timeout: 5000 });

    // Eve edits the original: the quote on both sides follows.
    await original(eveLog).hover();
    await original(eveLog).getByRole('button', { name: 'Edit message' }).click();
    const editBox = original(eveLog).getByRole('textbox', { name: 'Message text' });
    await editBox.fill('Where and when shall we meet?');
    await editBox.press('Enter');
    for (const log of [fayLog, eveLog]) await reply(log).getByTestId('quote').getByText('Where and when shall we meet?').waitFor({ timeout: 5000 });

    // A click on the quote takes Fay to the original, highlighted.
    await reply(fayLog).getByTestId('quote').click();
    await expect.poll(() => fayLog.locator('article.msg.flash').textContent(), { timeout: 5000 }).toContain('Where and when shall we meet?');

    // Thread: Eve replies in the original's thread; Fay sees "1 reply" on it, opens the thread and answers there.
    await original(eveLog).hover();
    await original(eveLog).getByRole('button', { name: 'Reply in thread' }).click();
    const eveThread = eve.getByRole('region', { name: 'Thread', exact: true });
    await eveThread.getByLabel('Reply in thread').fill('I will book a table');
    await eveThread.getByLabel('Reply in thread').press('Enter');
    await eveThread.getByText('I will book a table').waitFor({ timeout: 5000 });
    // Thread replies stay out of the conversation's log.
    await expect(eveLog.getByText('I will book a table').count()).resolves.toBe(0);
    await original(fayLog).getByRole('button', { name: /^1 reply/ }).click({ timeout: 5000 });
    const fayThread = fay.getByRole('region', { name: 'Thread', exact: true });
    await fayThread.getByText('I will book a table').waitFor({ timeout: 5000 });
    await fayThread.getByLabel('Reply in thread').fill('Thanks!');
    await fayThread.getByLabel('Reply in thread').press('Enter');
    await eveThread.getByText('Thanks!').waitFor({ timeout: 5000 });
    await eveThread.getByTestId('thread-root').getByText('2 replies').waitFor({ timeout: 5000 });
    await eve.screenshot({ path: join(SHOTS, '13-thread-panel.png') });

    // Mention: Fay types @Ev, picks Eve from the list; Eve sees the message marked as mentioning her.
    await fayBox.fill('');
    await fayBox.pressSequentially('@Ev');
    await fay.getByRole('listbox', { name: 'Mention' }).getByRole('option', { name: /@Eve Mx/ }).waitFor();
    await fayBox.press('Enter');
    await expect(fayBox.inputValue()).resolves.toBe('@Eve Mx ');
    await fayBox.pressSequentially('see you there');
    await fayBox.press('Enter');
    const mention = eveLog.getByRole('article').filter({ hasText: '@Eve Mx see you there' });
    await mention.waitFor({ timeout: 5000 });
    await expect(mention.evaluate((a) => a.classList.contains('mention'))).resolves.toBe(true);
    await expect(fayLog.getByRole('article').filter({ hasText: '@Eve Mx see you there' }).evaluate((a) => a.classList.contains('mention'))).resolves.toBe(false);
    await eve.screenshot({ path: join(SHOTS, '14-reply-and-mention.png') });

    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('a streamed message (a bot\u2019s answer) grows in place with a cursor, then stays like any other message', async () => {
    errors.length = 0;
    const { page } = await signIn('Dee Stream');
    const bot = await ChatClient.login(web.server.baseUrl, 'Stream Bot');
    try {
      const { users } = await bot.call<{ users: { id: string }[] }>('user.search', { prefix: 'Dee Stream' });
      const { conversation } = await bot.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: users[0]!.id });
      const conversationId = conversation.id;
      const { message } = await bot.call<{ message: { seq: number } }>('message.send', { conversationId, clientMsgId: 'answer-1', body: 'Thinking', streaming: true });
      await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Stream Bot/ }).click();
      const growing = page.getByTestId('streaming-body');
      await growing.getByText('Thinking').waitFor();
      let sent = 'Thinking';
      for (const word of [' about', ' your', ' question', ' carefully']) {
        await bot.call('message.stream', { conversationId, seq: message.seq, offset: sent.length, text: word });
        sent += word;
        // The same paragraph grows (one row, the cursor still at its end).
        await expect.poll(() => growing.textContent(), { timeout: 5000 }).toBe(`${sent}▍`);
      }
      await page.screenshot({ path: join(SHOTS, '9-streaming.png') });
      await bot.call('message.stream', { conversationId, seq: message.seq, offset: sent.length, text: '.', end: true });
      const log = page.getByRole('log', { name: 'Messages' });
      await log.getByText(`${sent}.`, { exact: true }).waitFor();
      await expect.poll(() => growing.count()).toBe(0);
      expect(await log.getByText(/Thinking about/).count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await bot.close();
    }
  });

  it('a conversation with 10,000 messages: only a window of rows is in the DOM, older history loads on scrolling up', async () => {
    errors.length = 0;
    const una = await ChatClient.login(web.server.baseUrl, 'Una Long');
    const vic = await ChatClient.login(web.server.baseUrl, 'Vic Long');
    const { conversation } = await una.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: vic.user.id });
    const TOTAL = 10_000;
    const body = (n: number) => `long ${String(n).padStart(5, '0')}`;
    // Many sends in flight at once; each batch waits for its replies so seqs follow n.
    const started = Date.now();
    for (let n = 1; n <= TOTAL; ) {
      const batch: Promise<unknown>[] = [];
      for (const end = Math.min(TOTAL, n + 499); n <= end; n++) batch.push(una.call('message.send', { conversationId: conversation.id, clientMsgId: `l${n}`, body: body(n) }));
      await Promise.all(batch);
    }
    const sendMs = Date.now() - started;
    await vic.close();

    const { page } = await signIn('Vic Long');
    // A loaded machine, as when two Chromiums raced for two cores and the reader's row once
    // jumped 180 px: renders, measurements and the page's arrival then interleave differently.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name: /Una Long/ }).click();
    const log = page.getByRole('log', { name: 'Messages' });
    const rows = log.locator('article.msg');
    await log.getByText(body(TOTAL), { exact: true }).waitFor({ timeout: 10_000 });
    // Scrolled to the bottom, showing the newest message.
    const atBottom = () => log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 80);
    await expect.poll(atBottom, { timeout: 5000 }).toBe(true);
    await expect(log.getByText(body(TOTAL), { exact: true }).isVisible()).resolves.toBe(true);
    expect(await rows.count()).toBeLessThan(200);

    /** The lowest message number in the DOM. */
    const oldestShown = async () => Math.min(...(await log.locator('article.msg .body').allTextContents()).map((t) => Number(t.replace('long ', ''))));
    // Each scroll to the top fetches an older page; the reader stays where they were.
    const seen: number[] = [await oldestShown()];
    /** Where the row with `text` is, in px below the top of the log's viewport. */
    const rowTop = (text: string) =>
      log.evaluate((el, t) => {
        const row = [...el.querySelectorAll('article.msg')].find((a) => a.querySelector('.body')?.textContent === t);
        return row ? row.getBoundingClientRect().top - el.getBoundingClientRect().top : NaN;
      }, text);
    let worstDrift = 0;
    for (let k = 0; k < 6; k++) {
      // Scroll to the top and note the first row there once it rendered (a microtask after the
      // scroll event), before the older page can arrive (a socket message, a later task).
      const first = await log.evaluate(async (el) => {
        const scrolled = new Promise((resolve) => el.addEventListener('scroll', resolve, { once: true }));
        el.scrollTop = 0;
        await scrolled;
        await Promise.resolve();
        const viewTop = el.getBoundingClientRect().top;
        const a = [...el.querySelectorAll('article.msg')].find((r) => r.getBoundingClientRect().bottom > viewTop)!;
        const text = a.querySelector('.body')!.textContent!;
        const top = a.getBoundingClientRect().top - viewTop;
        // Where that row is in every frame the reader sees (read just after the frame is drawn)
        // until the test stops it: a jump shows here even when the view later puts the row back.
        // Each page's watch has its own samples and flag: the last page's may take a frame to stop.
        const drift: number[] = [];
        let watching = true;
        (window as unknown as { __drift: () => number[] }).__drift = () => {
          watching = false;
          return drift;
        };
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          if (!watching) return;
          const row = [...el.querySelectorAll('article.msg')].find((r) => r.querySelector('.body')?.textContent === text);
          drift.push(row ? row.getBoundingClientRect().top - el.getBoundingClientRect().top - top : Infinity);
          requestAnimationFrame(() => channel.port2.postMessage(0));
        };
        requestAnimationFrame(() => channel.port2.postMessage(0));
        return { text, top };
      });
      await expect.poll(oldestShown, { timeout: 5000 }).toBeLessThan(seen.at(-1)!);
      seen.push(await oldestShown());
      // The older rows went in above: the row the reader was looking at did not move, in no frame.
      await expect.poll(async () => Math.abs((await rowTop(first.text)) - first.top), { timeout: 2000 }).toBeLessThan(2);
      const drift = await log.evaluate(() => (window as unknown as { __drift: () => number[] }).__drift());
      worstDrift = Math.max(worstDrift, ...drift.map(Math.abs));
      expect(drift.length).toBeGreaterThan(0);
      expect(drift.filter((d) => Math.abs(d) >= 2), `page ${k}: the reader's row moved (px, one per frame): ${drift.map(Math.round).join(' ')}`).toEqual([]);
      expect(await rows.count()).toBeLessThan(200);
    }
    // Scrolled to the top, the view did not jump back to the bottom, and the DOM stayed small.
    await expect(atBottom()).resolves.toBe(false);
    expect(TOTAL - seen.at(-1)!).toBeGreaterThan(250);
    await page.screenshot({ path: join(SHOTS, '9-long-history.png') });

    // Back at the bottom, a new message shows up in view.
    await log.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(atBottom, { timeout: 5000 }).toBe(true);
    await una.call('message.send', { conversationId: conversation.id, clientMsgId: 'tail', body: 'the newest one' });
    await log.getByText('the newest one', { exact: true }).waitFor({ timeout: 5000 });
    await expect.poll(atBottom, { timeout: 5000 }).toBe(true);
    expect(await rows.count()).toBeLessThan(200);
    await una.close();
    console.log(`sent ${TOTAL} messages in ${sendMs} ms; oldest shown while scrolling up: ${seen.join(', ')}; the reader's row moved at most ${worstDrift.toFixed(1)} px (CPU ${CPU_SLOWDOWN}× slower)`);

    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });

  it('message search: a hit shows its snippet highlighted and opens the conversation at the message, older history loaded', async () => {
    errors.length = 0;
    const wes = await ChatClient.login(web.server.baseUrl, 'Wes Search');
    const xia = await ChatClient.login(web.server.baseUrl, 'Xia Search');
    const { conversation } = await wes.call<{ conversation: { id: string } }>('conversation.open_dm', { userId: xia.user.id });
    const send = (n: number, body: string) => wes.call('message.send', { conversationId: conversation.id, clientMsgId: `s${n}`, body });
    const NEEDLE = 'the marmalade recipe is in the blue folder';
    await send(0, NEEDLE);
    // Far more than the first page of history: the hit is only held once older pages are loaded.
    for (let n = 1; n <= 600; ) {
      const batch: Promise<unknown>[] = [];
      for (const end = n + 199; n <= end; n++) batch.push(send(n, `filler ${n}`));
      await Promise.all(batch);
    }
    await xia.close();
    await wes.close();

    const { page } = await signIn('Xia Search');
    await page.getByRole('textbox', { name: 'Search messages' }).fill('marmal');
    const results = page.getByRole('region', { name: 'Message search results' });
    const hit = results.getByRole('button', { name: /Wes Search/ });
    await hit.waitFor({ timeout: 10_000 });
    await expect(results.locator('mark').allTextContents()).resolves.toEqual(['marmalade']);
    await expect(hit.textContent()).resolves.toContain(NEEDLE);
    await page.screenshot({ path: join(SHOTS, '10-search-results.png') });
    await hit.click();

    const log = page.getByRole('log', { name: 'Messages' });
    const target = log.locator('article.msg.hit');
    await target.waitFor({ timeout: 15_000 });
    await expect(target.locator('.body').textContent()).resolves.toBe(NEEDLE);
    // Scrolled into the log's viewport, not left at the bottom.
    const inView = () =>
      page.evaluate(() => {
        const a = document.querySelector('[role=log] article.msg.hit');
        if (!a) return false;
        const view = a.closest('[role=log]')!.getBoundingClientRect();
        const row = a.getBoundingClientRect();
        return row.top >= view.top && row.bottom <= view.bottom;
      });
    await expect.poll(inView, { timeout: 5000 }).toBe(true);
    await page.screenshot({ path: join(SHOTS, '11-search-hit-opened.png') });

    // Scrolled away to the bottom, the same hit chosen again is brought back into view.
    await log.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(inView, { timeout: 5000 }).toBe(false);
    await page.getByRole('textbox', { name: 'Search messages' }).click();
    await hit.click();
    await expect.poll(inView, { timeout: 5000 }).toBe(true);
    // A press outside the results closes them.
    await page.getByRole('textbox', { name: 'Search messages' }).click();
    await results.waitFor();
    await log.click({ position: { x: 600, y: 300 } });
    await results.waitFor({ state: 'detached', timeout: 5000 });

    expect(errors.filter((e) => !/WebSocket connection to '.*' failed/.test(e))).toEqual([]);
  });
});
