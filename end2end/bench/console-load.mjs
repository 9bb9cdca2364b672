// Measures a first load of a console page in headless Chromium for the benchmark: the bytes
// transferred (as served, compressed) and the time until the page is hydrated. Prints JSON.
// Usage: node end2end/bench/console-load.mjs <base URL> <path> [session cookie as name=value]
import { chromium } from '@playwright/test';

const [base, path, cookie] = process.argv.slice(2);
if (!base || !path) throw new Error('usage: console-load.mjs <base URL> <path> [name=value]');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
  ],
});

async function load() {
  // A new context each time: an empty cache, as for a first visit.
  const context = await browser.newContext();
  if (cookie) {
    const [name, ...value] = cookie.split('=');
    await context.addCookies([{ name, value: value.join('='), url: base }]);
  }
  const page = await context.newPage();
  const responses = [];
  page.on('response', (response) => responses.push(response));

  const started = Date.now();
  await page.goto(`${base}${path}`);
  await page.locator('body[data-hydrated="true"]').waitFor({ timeout: 30_000 });
  const interactiveMs = Date.now() - started;

  let bytes = 0;
  const files = [];
  for (const response of responses) {
    const sizes = await response.request().sizes();
    const transferred = sizes.responseBodySize + sizes.responseHeadersSize;
    bytes += transferred;
    files.push({
      url: new URL(response.url()).pathname,
      bytes: transferred,
      encoding: (await response.allHeaders())['content-encoding'] ?? 'none',
    });
  }
  await context.close();
  return { bytes, interactiveMs, files };
}

// The first run warms the server's own file cache; the figures are from the runs after it.
await load();
const runs = [];
for (let i = 0; i < 5; i += 1) runs.push(await load());
await browser.close();

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(JSON.stringify({
  bytes: median(runs.map((r) => r.bytes)),
  interactive_ms: median(runs.map((r) => r.interactiveMs)),
  files: runs[0].files,
}));
