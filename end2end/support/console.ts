// Steps the browser tests share: waiting for hydration and signing in as the first administrator.
import { expect, Page } from '@playwright/test';
import { baseURL } from '../playwright.config';

export const tenant = 'acme';

/** Waits until the console's WASM has taken over the server-rendered page. */
export async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

/** Signs in as the administrator the walkthrough created and lands on the Applications list. */
export async function signIn(page: Page) {
  await page.goto('/console/login');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  await hydrated(page);
}
