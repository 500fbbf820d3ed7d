/**
 * Headless Chromium for the dashboard's browser tests: Debian's /usr/bin/chromium driven by
 * playwright-core (no browser download; `pnpm test`'s set-up installs the Debian package). Every page records console
 * errors and uncaught exceptions so a test can assert the dashboard ran cleanly.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { toolPath } from '../setup/requirements.mjs';

export const CHROMIUM_PATH = toolPath('chromium');

/** docs/screenshots/ at the repository root (the README shows these). */
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots');

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (own sessionStorage) and page at the given viewport. */
  newPage(viewport?: { width: number; height: number }): Promise<TrackedPage>;
  close(): Promise<void>;
}

export interface TrackedPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught page exceptions and console errors, excluding failed-request noise the test expects (401 on a wrong token). */
  errors: string[];
  screenshot(name: string, options?: { fullPage?: boolean }): Promise<string>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    async newPage(viewport = DESKTOP) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(`console: ${message.text()}`);
      });
      return {
        page,
        context,
        errors,
        async screenshot(name, options = {}) {
          await mkdir(SCREENSHOT_DIR, { recursive: true });
          const path = join(SCREENSHOT_DIR, `${name}.png`);
          await page.screenshot({ path, fullPage: options.fullPage ?? false });
          return path;
        },
      };
    },
    close: () => browser.close(),
  };
}
