import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ChatClient } from '@chat/testkit/chat-client';
import { chromiumAvailable } from '@chat/testkit/chromium';
import { webSuite } from '@chat/testkit/web-suite';

// axe-core (the engine behind Lighthouse's and most browsers' accessibility
// audits) run on every main screen of the web client, in both themes and at
// phone width, in Debian's Chromium against the real server. Any violation
// fails the test (the bar is none serious or critical; the client has none
// of any impact, and keeps it so); each is printed with where it was found.

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const haveChromium = chromiumAvailable('web client accessibility test');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe.skipIf(!haveChromium)('web client accessibility (axe-core) on every main screen', () => {
  const web = webSuite('chat-a11y-');

  /** axe's violations on the page as it is now (WCAG 2.1 A and AA rules and best practices). */
  async function violations(page: Page, screen: string): Promise<AxeViolation[]> {
    await page.addScriptTag({ path: AXE });
    const found = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(o: object): Promise<{ violations: AxeViolation[] }> } }).axe;
      return (await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } })).violations;
    });
    for (const v of found) console.log(`axe ${screen}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    return found;
  }

  const described = (found: AxeViolation[]) => found.map((v) => `${v.impact} ${v.id}: ${v.help}`);

  for (const scheme of ['light', 'dark'] as const) {
    it(`${scheme} theme: sign-in, list, conversation, group panel, message search, phone list and conversation`, async () => {
      const name = (who: string) => `${who} A11y ${scheme}`;
      // A group with history, made through the protocol, so every screen has content to check.
      const ann = await ChatClient.login(web.server.baseUrl, name('Ann'));
      const bob = await ChatClient.login(web.server.baseUrl, name('Bob'));
      const created = await ann.call<{ conversation: { id: string } }>('conversation.create_group', { title: `Trip ${scheme}`, members: [bob.user.id] });
      const conversationId = created.conversation.id;
      for (let i = 1; i <= 12; i++) {
        const from = i % 2 ? ann : bob;
        await from.call('message.send', { conversationId, clientMsgId: `a11y-${i}`, body: `Plans for the trip, part ${i}: trains, hotels and a museum` });
      }
      await ann.close();
      await bob.close();

      const problems: Record<string, string[]> = {};
      const check = async (page: Page, screen: string) => {
        const found = described(await violations(page, `${scheme} ${screen}`));
        if (found.length > 0) problems[screen] = found;
      };

      const context = await web.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(web.server.baseUrl);
      await page.getByLabel('Your name').waitFor();
      await check(page, 'sign-in');

      await page.getByLabel('Your name').fill(name('Ann'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Online' }).waitFor({ timeout: 10_000 });
      const list = page.getByRole('navigation', { name: 'Conversations' });
      await list.getByRole('button', { name: new RegExp(`Trip ${scheme}`) }).waitFor();
      await check(page, 'list');

      await list.getByRole('button', { name: new RegExp(`Trip ${scheme}`) }).click();
      const view = page.getByRole('region', { name: `Trip ${scheme}` });
      await view.getByText('part 12:').waitFor();
      await check(page, 'conversation');

      await view.getByRole('button', { name: 'Members', exact: true }).click();
      await page.getByRole('region', { name: /^Members/ }).waitFor();
      await check(page, 'group panel');
      await page.keyboard.press('Escape');

      const search = page.getByRole('search', { name: 'Search messages' }).getByRole('textbox');
      await search.fill('museum');
      await search.press('Enter');
      await page.getByRole('region', { name: 'Message search results' }).getByText(/museum/).first().waitFor();
      await check(page, 'message search');
      await context.close();

      const phone = await web.browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: scheme, isMobile: true, hasTouch: true });
      const p = await phone.newPage();
      await p.goto(web.server.baseUrl);
      await p.getByLabel('Your name').fill(name('Bob'));
      await p.getByRole('button', { name: 'Sign in' }).click();
      const phoneList = p.getByRole('navigation', { name: 'Conversations' });
      await phoneList.getByRole('button', { name: new RegExp(`Trip ${scheme}`) }).waitFor({ timeout: 10_000 });
      await check(p, 'phone list');
      await phoneList.getByRole('button', { name: new RegExp(`Trip ${scheme}`) }).click();
      await p.getByRole('region', { name: `Trip ${scheme}` }).getByText('part 12:').waitFor();
      await check(p, 'phone conversation');
      await phone.close();

      expect(problems).toEqual({});
    });
  }
});
