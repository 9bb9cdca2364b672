// The console's code arrives in parts: the sign-in page loads only its own part of the WASM
// bundle, and another page's part is fetched when that page is first shown.
import { expect, Page, test } from '@playwright/test';
import { hydrated, signIn, tenant } from '../support/console';

/** Collects the names of the WASM files the page fetches from now on. */
function wasmFetched(page: Page): string[] {
  const names: string[] = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/pkg/') && path.endsWith('.wasm')) names.push(path.slice('/pkg/'.length));
  });
  return names;
}

const pagePart = (names: string[], page: string) =>
  names.filter((name) => name.startsWith(`split___${page}_page_view_`));

test('the sign-in page loads its own part and no other page', async ({ page }) => {
  const fetched = wasmFetched(page);
  await page.goto('/console/login');
  await hydrated(page);
  expect(pagePart(fetched, 'login')).toHaveLength(1);
  expect(fetched.filter((name) => name.startsWith('split___'))).toHaveLength(1);
  // The main part is fetched once, under its content-hashed name.
  expect(fetched.filter((name) => /^fennec\.[\w-]+\.wasm$/.test(name))).toHaveLength(1);
});

test('moving to another page fetches its part, which then works', async ({ page }) => {
  const fetched = wasmFetched(page);
  await signIn(page);
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  await expect.poll(() => pagePart(fetched, 'applications')).toHaveLength(1);
  expect(pagePart(fetched, 'audit_trail')).toHaveLength(0);

  await page.getByRole('link', { name: 'Audit trail' }).click();
  await expect(page).toHaveURL(new RegExp(`/console/${tenant}/-/audit`));
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Audit trail' })).toBeVisible();
  await expect.poll(() => pagePart(fetched, 'audit_trail')).toHaveLength(1);
});
