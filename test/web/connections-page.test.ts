/**
 * The connections page (web/) in a real browser: headless Chromium (Debian's package)
 * driven by puppeteer-core against a local stack, as a person would use it. Screenshots of
 * every step, at 1280 px and at phone width, go to test-results/connections-page/.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../local/web-build';
import { startTestStack, type TestStack } from '../support/local-stack';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(ROOT, 'test-results', 'connections-page');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
/** Pages of 200 records and a slow sandbox: the sync takes seconds, so its progress can be watched. */
const SALESFORCE_PAGE_SIZE = '200';
const SALESFORCE_DELAY_MS = 300;

const card = (connectorId: string) => `article[data-connector="${connectorId}"]`;

if (!existsSync(CHROMIUM)) console.warn(`test/web/connections-page.test.ts skipped: ${CHROMIUM} is absent (apt-get install chromium; .ci/run does)`);

describe.skipIf(!existsSync(CHROMIUM))('the connections page in Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let profile: string;
  /** What the pages reported that a person would not want: script errors, blocked resources. */
  const problems: string[] = [];

  beforeAll(async () => {
    const build = await ensureWebBuilt();
    console.log(`web/dist ${build.built ? `built in ${(build.ms / 1000).toFixed(1)} s` : 'up to date'}; screenshots in ${SHOTS}`);
    await rm(SHOTS, { recursive: true, force: true });
    await mkdir(SHOTS, { recursive: true });
    process.env.SALESFORCE_PAGE_SIZE = SALESFORCE_PAGE_SIZE;
    stack = await startTestStack({ oauthReturnsToPage: true });
    profile = await mkdtemp(join(tmpdir(), 'connections-page-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--lang=en-US',
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** A fresh page in a browser context of its own (its own sessionStorage), watched for problems. */
  async function newPage(): Promise<Page> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(DESKTOP);
    page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
    page.on('console', (message) => {
      // A refused call (the member's 403) is logged by the browser as a failed resource; anything else is a problem.
      if (message.type() === 'error' && !/status of 403/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** The button labelled exactly `label` inside `root` (a card, a form, the dialog), once it is there. */
  async function button(page: Page, root: string, label: string): Promise<ElementHandle<HTMLButtonElement>> {
    const handle = await page.waitForFunction(
      (root, label) =>
        [...document.querySelectorAll<HTMLButtonElement>(`${root} button`)].find(
          (candidate) => (candidate.getAttribute('aria-label') ?? candidate.textContent ?? '').trim() === label,
        ),
      { timeout: 15_000 },
      root,
      label,
    );
    return handle as ElementHandle<HTMLButtonElement>;
  }

  const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => element.textContent?.trim() ?? '');
  const badgeOf = (page: Page, connectorId: string) => textOf(page, `${card(connectorId)} .connector-head .badge`);
  const waitForBadge = (page: Page, connectorId: string, badge: string) =>
    page.waitForFunction(
      (selector, badge) => document.querySelector(selector)?.textContent?.trim() === badge,
      { timeout: 30_000 },
      `${card(connectorId)} .connector-head .badge`,
      badge,
    );

  it('lets an admin connect Salesforce, watch a sync to 340 / 1,250 / 89, connect Customer.io and disconnect', { timeout: 180_000 }, async () => {
    const page = await newPage();

    // Signed out, the page says how to sign in; the local sign-in hands it a token.
    await page.goto(stack.pageUrl, { waitUntil: 'networkidle0' });
    await page.waitForSelector('form[action="/local/sign-in"]');
    await shot(page, '01-sign-in');
    await page.select('select[name="role"]', 'admin');
    await Promise.all([page.waitForNavigation(), (await button(page, 'form', 'Sign in')).click()]);
    await page.waitForSelector(card('salesforce'));
    expect(await textOf(page, '.who')).toContain('acme');
    expect(page.url()).toBe(stack.pageUrl);
    await shot(page, '02-signed-in');

    // Connect: off to the Salesforce sandbox's consent, which sends the browser back through the callback to the page.
    await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }), (await button(page, card('salesforce'), 'Connect Salesforce')).click()]);
    await waitForBadge(page, 'salesforce', 'Connected');
    expect(await textOf(page, '.notice p')).toBe('Salesforce is connected.');
    await shot(page, '03-salesforce-connected');

    // Sync now: the bar appears while the sync runs and its figure moves, then the counts and the history show the outcome.
    stack.salesforce!.failures.slow(SALESFORCE_DELAY_MS);
    await (await button(page, card('salesforce'), 'Sync now')).click();
    await page.waitForSelector(`${card('salesforce')} .progress progress`, { timeout: 15_000 });
    const figures: number[] = [];
    let movedShot = false;
    for (;;) {
      const figure = await page.$eval(`${card('salesforce')} [data-testid="records-so-far"]`, (element) => Number(element.textContent!.replace(/\D/g, ''))).catch(() => undefined);
      if (figure === undefined) break;
      if (figures.length === 0) await shot(page, '04-sync-started');
      if (figures.length > 0 && figure !== figures[0] && !movedShot) {
        await shot(page, '05-sync-running');
        movedShot = true;
      }
      figures.push(figure);
      await new Promise((pause) => setTimeout(pause, 250));
    }
    stack.salesforce!.failures.slow(0);
    expect(new Set(figures).size, `the live figure should move: ${figures.join(', ')}`).toBeGreaterThan(1);
    await waitForBadge(page, 'salesforce', 'Connected');
    await page.waitForFunction(
      (selector) => document.querySelector(`${selector} [data-entity="people"]`)?.textContent === '1,250',
      { timeout: 15_000 },
      card('salesforce'),
    );
    expect(await textOf(page, `${card('salesforce')} [data-entity="accounts"]`)).toBe('340');
    expect(await textOf(page, `${card('salesforce')} [data-entity="opportunities"]`)).toBe('89');
    const row = await page.waitForSelector(`${card('salesforce')} table.history tbody tr[data-status="completed"]`);
    const cells = await row!.$$eval('td', (tds) => tds.map((td) => td.textContent?.trim()));
    expect(cells.slice(1, 7)).toEqual(['full', 'Completed', '1,679', '0', '0', '0']);
    expect(await textOf(page, `${card('salesforce')} .facts`)).not.toContain('never');
    // The org's API usage, as Salesforce reported it to the sync, with the budget in force.
    expect(await textOf(page, `${card('salesforce')} .facts`)).toMatch(/API usage[\d,]+ of 100,000 daily calls \(budget 80%\)/);
    await shot(page, '06-salesforce-synced');

    // Customer.io connects with its API key and region, from a form in its card.
    await (await button(page, card('customerio'), 'Connect Customer.io')).click();
    const form = `${card('customerio')} form.connect-form`;
    await page.type(`${form} input[name="apiKey"]`, 'sandbox-key');
    await page.select(`${form} select[name="region"]`, 'us');
    await shot(page, '07-customerio-form');
    await (await button(page, form, 'Connect Customer.io')).click();
    await waitForBadge(page, 'customerio', 'Connected');
    expect(await page.$(form)).toBeNull();

    // Its schedule: another interval, then a pause.
    const schedule = `${card('customerio')} .schedule`;
    await page.$eval(`${schedule} input[name="intervalMinutes"]`, (input) => ((input as HTMLInputElement).value = ''));
    await page.type(`${schedule} input[name="intervalMinutes"]`, '30');
    await (await button(page, schedule, 'Save schedule')).click();
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'Syncs every 30 minutes.', {}, `${schedule} p`);
    await (await button(page, schedule, 'Pause scheduled syncs')).click();
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent?.startsWith('Scheduled syncs are paused'), {}, `${schedule} p`);
    expect(await textOf(page, `${card('customerio')} .facts`)).toContain('paused');
    await shot(page, '08-customerio-connected');

    // Disconnect asks first, in a dialog of the page; the history stays.
    await (await button(page, card('salesforce'), 'Disconnect')).click();
    await page.waitForSelector(`${card('salesforce')} dialog[open]`);
    expect(await textOf(page, `${card('salesforce')} dialog h2`)).toBe('Disconnect Salesforce?');
    await shot(page, '09-disconnect-dialog');
    await (await button(page, `${card('salesforce')} dialog`, 'Disconnect Salesforce')).click();
    await waitForBadge(page, 'salesforce', 'Not connected');
    expect(await page.$(`${card('salesforce')} dialog`)).toBeNull();
    // The consent notice goes with the connection.
    await page.waitForFunction(() => !document.querySelector('.notice'), { timeout: 5_000 });
    expect(await page.$(`${card('salesforce')} table.history tbody tr[data-status="completed"]`)).not.toBeNull();
    await shot(page, '10-salesforce-disconnected');

    // The same page at phone width.
    await page.setViewport(PHONE);
    await page.waitForNetworkIdle();
    await shot(page, '11-phone-admin');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'the page should not scroll sideways at phone width').toBeLessThanOrEqual(0);

    expect(await badgeOf(page, 'customerio')).toBe('Connected');
    expect(problems).toEqual([]);
  });

  it('shows a member everything read only, and says an admin is needed when the API refuses', { timeout: 60_000 }, async () => {
    await stack.client('globex', 'admin').connector.connect.mutate({ connectorId: 'customerio', apiKey: 'sandbox-key', config: { region: 'us' } });
    const page = await newPage();
    await page.goto(`${stack.url}/local/sign-in?tenant=globex&role=member`, { waitUntil: 'networkidle0' });
    await page.waitForSelector(`${card('customerio')} table.history, ${card('customerio')} .counts`);
    expect(await textOf(page, '#read-only-note')).toMatch(/^Read only: you are signed in as a member/);
    expect(await badgeOf(page, 'customerio')).toBe('Connected');

    const buttons = await page.$$eval('article.connector button', (all) =>
      all.map((element) => ({ label: element.getAttribute('aria-label') ?? element.textContent?.trim(), disabled: (element as HTMLButtonElement).disabled })),
    );
    expect(buttons.map((entry) => entry.label)).toEqual(expect.arrayContaining(['Sync now', 'Full sync', 'Connect Salesforce', 'Disconnect', 'Save schedule']));
    expect(buttons.filter((entry) => !entry.disabled)).toEqual([]);
    await shot(page, '12-member');

    await page.setViewport(PHONE);
    await page.waitForNetworkIdle();
    await shot(page, '13-phone-member');

    // Where the page cannot tell the role from the token (a platform's own claims), the buttons are on: the API's 403 reads as a sentence.
    const unsure = await newPage();
    await unsure.setRequestInterception(true);
    unsure.on('request', (request) => {
      if (new URL(request.url()).pathname !== '/config.js') return void request.continue();
      void request.respond({
        contentType: 'text/javascript',
        body: `window.CONNECTOR_CONSOLE = ${JSON.stringify({ signInUrl: '/local/sign-in', localSignIn: true, claims: { role: 'platform_role' } })};`,
      });
    });
    await unsure.goto(`${stack.url}/local/sign-in?tenant=globex&role=member`, { waitUntil: 'networkidle0' });
    await (await button(unsure, card('customerio'), 'Sync now')).click();
    await unsure.waitForSelector(`${card('customerio')} .alert`);
    expect(await textOf(unsure, `${card('customerio')} .alert`)).toBe(
      'Only an admin can do this: your sign-in lets you see everything but change nothing.',
    );
    await shot(unsure, '14-member-refused');
    expect(problems).toEqual([]);
  });
});
