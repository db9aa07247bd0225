/**
 * Headless Chromium for the report's browser test and screenshot: the system's browser (Debian's `chromium`, or
 * CHROMIUM_PATH), never a downloaded one. A missing browser is an error, so a test that needs it fails, not skips.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // The sandbox needs user namespaces that containers and root shells lack; the page is our own local file.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A page opened from a local file, and everything that went wrong while it loaded. */
export interface OpenedPage {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  /** Every request other than the page itself: a self-contained page makes none. */
  otherRequests: string[];
}

export async function openFile(browser: Browser, file: string, viewport = { width: 1000, height: 800 }): Promise<OpenedPage> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const url = pathToFileURL(file).href;
  const opened: OpenedPage = { page, consoleErrors: [], pageErrors: [], failedRequests: [], otherRequests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') opened.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => opened.pageErrors.push(e instanceof Error ? e.message : String(e)));
  page.on('requestfailed', (r) => opened.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
  page.on('request', (r) => {
    if (r.url() !== url) opened.otherRequests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return opened;
}
