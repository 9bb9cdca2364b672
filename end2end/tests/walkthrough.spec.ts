// The README's walkthrough in a real browser: setup, sign-in, a resource, a client, a token.
import { test, expect, Page } from '@playwright/test';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baseURL } from '../playwright.config';
import { hydrated, tenant } from '../support/console';

const username = 'admin';
const password = 'correct horse battery staple';

function setupLink(): string {
  return readFileSync(join(process.env.FENNEC_DATA_DIR!, 'setup-link.txt'), 'utf8').trim();
}

test.describe.configure({ mode: 'serial' });

test('the setup link creates the first administrator and tenant once', async ({ page }) => {
  const link = setupLink();
  expect(link.startsWith(`${baseURL}/console/setup?token=`)).toBeTruthy();

  await page.goto(link);
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('too short');
  await page.getByLabel('Tenant name').fill(tenant);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page.getByLabel('Password')).toHaveAccessibleDescription(/^Use at least 12 characters\./);
  await expect(page.getByTestId('form-error')).toHaveText('Some fields need attention.');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create administrator' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  await expect(page.getByRole('heading', { name: 'Applications' })).toBeVisible();
  await expect(page.getByLabel('Environment')).toHaveValue('-');

  await page.goto(link);
  await expect(page.getByText('This setup link is not valid or was already used.')).toBeVisible();
});

test('a wrong password is refused and the right one signs in', async ({ page }) => {
  await page.goto('/console/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('The username or password is not correct.');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
});

async function signIn(page: Page) {
  await page.goto('/console/login');
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  await hydrated(page);
}

let clientSecret = '';

test('an administrator registers a resource and a client, then the client gets a token', async ({ page, request }) => {
  await signIn(page);

  // Resource wizard, reached from the New application dialog with the keyboard.
  await page.getByRole('button', { name: 'New application' }).click();
  const dialog = page.getByRole('dialog', { name: 'New application' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('link', { name: /Client Credentials Grant/ })).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(dialog.getByRole('link', { name: /Client Credentials Grant/ })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'New application' })).toBeFocused();
  await page.getByRole('button', { name: 'New application' }).click();
  await page.getByRole('link', { name: /OAuth 2\.0 — Resource \(API\)/ }).click();
  await hydrated(page);

  await page.getByLabel('Display name').fill('Party API 2');
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Technical name').fill('party-api2');
  await page.getByLabel('Scope 1', { exact: true }).fill('read 1');
  await expect(page.getByTestId('scopes-error')).not.toBeEmpty();
  await expect(page.getByTestId('requestable-scopes')).not.toContainText('read 1');
  await page.getByLabel('Scope 1', { exact: true }).fill('read1');
  await page.getByRole('button', { name: 'Add scope' }).click();
  await expect(page.getByLabel('Scope 2', { exact: true })).toBeFocused();
  await page.getByLabel('Scope 2', { exact: true }).fill('read2');
  const summary = page.getByTestId('resource-summary');
  await expect(summary).toContainText(`${baseURL}/${tenant}/-/`);
  await expect(summary).toContainText(`${baseURL}/${tenant}/-/.well-known/openid-configuration`);
  await expect(page.getByTestId('requestable-scopes')).toContainText('party-api2:read1');
  await expect(page.getByTestId('requestable-scopes')).toContainText('party-api2:read2');
  await page.getByRole('button', { name: 'Create' }).click();

  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  const resourceRow = page.getByTestId('application-party-api2');
  await expect(resourceRow).toContainText('Resource');
  await expect(resourceRow).toContainText('party-api2:read1');

  // Client wizard.
  await page.getByRole('button', { name: 'New application' }).click();
  await page.getByRole('link', { name: /Client Credentials Grant/ }).click();
  await hydrated(page);
  await page.getByLabel('Display name').fill('My backend client');
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Client ID').fill('my-backend-client');
  await expect(page.getByLabel('Client authentication method')).toHaveValue('client_secret_post');
  const grants = page.getByTestId('grant-party-api2');
  await grants.getByLabel('read1').check();
  await grants.getByLabel('read2').check();
  await page.getByRole('button', { name: 'Create' }).click();

  await expect(page.getByText('It will not be shown again.')).toBeVisible();
  clientSecret = (await page.getByTestId('client-secret').textContent())!.trim();
  expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const tokenUrl = (await page.getByTestId('token-url').textContent())!.trim();
  expect(tokenUrl).toBe(`${baseURL}/${tenant}/-/my-backend-client/oauth/token`);
  await expect(page.getByTestId('curl-command')).toContainText(clientSecret);

  await page.getByRole('link', { name: 'Back to applications' }).click();
  await expect(page.getByTestId('application-my-backend-client')).toContainText('Client');
  await page.getByLabel('Filter applications').fill('party');
  await expect(page.getByTestId('application-my-backend-client')).toBeHidden();
  await expect(page.getByTestId('application-party-api2')).toBeVisible();

  // The secret is not shown anywhere else once the page is left.
  await page.reload();
  await expect(page.getByText(clientSecret)).toHaveCount(0);

  // A backend service asks for a token with client_secret_post.
  const response = await request.post(tokenUrl, {
    form: {
      grant_type: 'client_credentials',
      client_id: 'my-backend-client',
      client_secret: clientSecret,
      scope: 'party-api2:read1',
    },
  });
  expect(response.status()).toBe(200);
  expect(response.headers()['cache-control']).toBe('no-store');
  const body = await response.json();
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBe(3600);
  expect(body.scope).toBe('party-api2:read1');

  // A resource server verifies it with a JWT library through the published keys.
  const issuer = `${baseURL}/${tenant}/-/`;
  const metadata = await (await request.get(`${issuer}.well-known/openid-configuration`)).json();
  expect(metadata.issuer).toBe(issuer);
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
    issuer,
    audience: 'party-api2',
    typ: 'at+jwt',
    algorithms: ['RS256'],
  });
  expect(protectedHeader.kid).toBeTruthy();
  expect(payload.aud).toBe('party-api2');
  expect(payload.sub).toBe('my-backend-client');
  expect(payload.client_id).toBe('my-backend-client');
  expect(payload.scope).toBe('party-api2:read1');
  expect(payload.exp! - payload.iat!).toBe(3600);
  expect(decodeProtectedHeader(body.access_token).typ).toBe('at+jwt');
});

test('a wrong secret gets invalid_client and a scope not granted gets invalid_scope', async ({ request }) => {
  const tokenUrl = `${baseURL}/${tenant}/-/oauth/token`;
  const wrong = await request.post(tokenUrl, {
    headers: { authorization: 'Basic ' + Buffer.from('my-backend-client:wrong-secret').toString('base64') },
    form: { grant_type: 'client_credentials' },
  });
  expect(wrong.status()).toBe(401);
  expect((await wrong.json()).error).toBe('invalid_client');

  const notGranted = await request.post(tokenUrl, {
    form: {
      grant_type: 'client_credentials',
      client_id: 'my-backend-client',
      client_secret: clientSecret,
      scope: 'party-api2:write',
    },
  });
  expect(notGranted.status()).toBe(400);
  expect(await notGranted.json()).toMatchObject({ error: 'invalid_scope' });
});

test('the master environment offers only clients', async ({ page }) => {
  await signIn(page);
  await page.getByLabel('Environment').selectOption('master');
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/master/applications`);
  await hydrated(page);

  await page.getByRole('button', { name: 'New application' }).click();

  const dialog = page.getByRole('dialog', { name: 'New application' });
  await expect(dialog.getByRole('link', { name: /Client Credentials Grant/ })).toBeVisible();
  await expect(dialog.getByRole('link', { name: /Resource \(API\)/ })).toHaveCount(0);

  // A wizard opened for an environment that does not exist promises no URLs.
  await page.goto(`/console/${tenant}/nowhere/applications/new-resource`);
  const summary = page.getByTestId('resource-summary');
  await expect(summary).toContainText('was not found');
  await expect(summary).not.toContainText(`/${tenant}/nowhere/`);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/login`);
  await page.goto(`/console/${tenant}/-/applications`);
  await expect(page).toHaveURL(`${baseURL}/console/login`);
});
