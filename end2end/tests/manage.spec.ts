// Managing registrations in the console: edit views, secrets, scopes, methods, environments,
// key rotation under a verifier that caches the JWKS, deletion and the audit trail.
import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { baseURL } from '../playwright.config';
import { hydrated, signIn, tenant } from '../support/console';


test.describe.configure({ mode: 'serial' });

async function createResource(page: Page, env: string, name: string, scopes: string[]) {
  await page.goto(`/console/${tenant}/${env}/applications/new-resource`);
  await hydrated(page);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Technical name').fill(name);
  for (const [i, scope] of scopes.entries()) {
    if (i > 0) await page.getByRole('button', { name: 'Add scope' }).click();
    await page.getByLabel(`Scope ${i + 1}`, { exact: true }).fill(scope);
  }
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId(`application-${name}`)).toBeVisible();
}

/** Creates a client_secret_post client granted `grants`; returns its secret. */
async function createClient(page: Page, name: string, grants: string[]): Promise<string> {
  await page.goto(`/console/${tenant}/-/applications/new-client`);
  await hydrated(page);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Client ID').fill(name);
  for (const grant of grants) await page.getByLabel(grant, { exact: true }).check();
  await page.getByRole('button', { name: 'Create' }).click();
  return (await page.getByTestId('client-secret').textContent())!.trim();
}

async function openEdit(page: Page, env: string, name: string) {
  await page.goto(`/console/${tenant}/${env}/applications`);
  await hydrated(page);
  await page.getByTestId(`application-${name}`).getByRole('link').click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/${env}/applications/${name}`);
  await hydrated(page);
}

async function tokenByPost(request: APIRequestContext, client: string, secret: string, scope?: string) {
  const form: Record<string, string> = { grant_type: 'client_credentials', client_id: client, client_secret: secret };
  if (scope) form.scope = scope;
  return request.post(`/${tenant}/-/oauth/token`, { form });
}

let secret = '';

test('an edit renames a client, keeps its secret and grants, and moves its token URL', async ({ page, request }) => {
  await signIn(page);
  await createResource(page, '-', 'inventory-api', ['read', 'write']);
  secret = await createClient(page, 'stock-sync', ['inventory-api:read', 'inventory-api:write']);

  await openEdit(page, '-', 'stock-sync');
  await page.getByLabel('Display name').fill('Stock synchroniser');
  await page.getByLabel('Notes').fill('Runs every night.');
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Technical name').fill('stock-sync-2');
  await expect(page.getByTestId('rename-warning')).toContainText('moves the token URL');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications/stock-sync-2`);
  await expect(page.getByTestId('edit-token-url')).toHaveText(`${baseURL}/${tenant}/-/stock-sync-2/oauth/token`);
  await expect(page.getByLabel('Notes')).toHaveValue('Runs every night.');

  const renamed = await request.post(`/${tenant}/-/stock-sync-2/oauth/token`, {
    form: { grant_type: 'client_credentials', client_id: 'stock-sync-2', client_secret: secret, scope: 'inventory-api:write' },
  });
  expect(renamed.status()).toBe(200);
  expect((await tokenByPost(request, 'stock-sync', secret)).status()).toBe(401);
});

test('a client edit view is always rendered whole by the server', async ({ page }) => {
  await signIn(page);
  for (let i = 0; i < 12; i++) {
    const answer = await page.request.get(`/console/${tenant}/-/applications/stock-sync-2`);
    expect(answer.status()).toBe(200);
    // A render that failed half-way ends the stream early: no end of document, no secrets list.
    const body = await answer.text();
    expect(body).toContain('</html>');
    expect(body).toContain('data-testid="secret-list"');
  }
});

test('unsaved changes are not dropped silently', async ({ page }) => {
  await signIn(page);
  await openEdit(page, '-', 'stock-sync-2');
  await page.getByLabel('Notes').fill('changed but not saved');

  const messages: string[] = [];
  page.once('dialog', (dialog) => { messages.push(dialog.message()); dialog.dismiss(); });
  await page.getByRole('button', { name: 'Cancel' }).click();
  expect(messages).toEqual(['Discard the unsaved changes?']);
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications/stock-sync-2`);
  await expect(page.getByLabel('Notes')).toHaveValue('changed but not saved');

  page.once('dialog', (dialog) => dialog.accept());
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
});

test('a secret added in the console authenticates, and a removed one no longer does', async ({ page, request }) => {
  await signIn(page);
  await openEdit(page, '-', 'stock-sync-2');
  await expect(page.getByTestId('secret-list').getByRole('listitem')).toHaveCount(1);

  await page.getByRole('button', { name: 'Add secret' }).click();
  const added = (await page.getByTestId('new-secret').textContent())!.trim();
  expect(added).toHaveLength(43);
  await expect(page.getByTestId('secret-list').getByRole('listitem')).toHaveCount(2);
  expect((await tokenByPost(request, 'stock-sync-2', added)).status()).toBe(200);

  await page.getByLabel('Secret value').fill('typed-secret-with-expiry');
  await page.getByLabel('Expires on').fill('2099-01-01');
  await page.getByRole('button', { name: 'Add secret' }).click();
  await expect(page.getByTestId('secret-list')).toContainText('expires 2099-01-01 00:00 UTC');
  expect((await tokenByPost(request, 'stock-sync-2', 'typed-secret-with-expiry')).status()).toBe(200);

  await page.getByRole('button', { name: `Remove secret ${secret.slice(0, 3)}` }).click();
  await expect(page.getByTestId('secret-list').getByRole('listitem')).toHaveCount(2);
  const refused = await tokenByPost(request, 'stock-sync-2', secret);
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error).toBe('invalid_client');
  secret = added;
});

test('removing a granted scope asks first, then the client can no longer ask for it', async ({ page, request }) => {
  await signIn(page);
  await openEdit(page, '-', 'inventory-api');
  await page.getByRole('button', { name: 'Remove scope write' }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  const confirm = page.getByTestId('confirm-save');
  await expect(confirm).toContainText('write');
  await expect(confirm).toContainText('stock-sync-2');
  expect((await tokenByPost(request, 'stock-sync-2', secret, 'inventory-api:write')).status()).toBe(200);

  await page.getByRole('button', { name: 'Confirm and save' }).click();
  await expect(page.getByTestId('edit-status')).toHaveText('Saved.');
  const refused = await tokenByPost(request, 'stock-sync-2', secret, 'inventory-api:write');
  expect(refused.status()).toBe(400);
  expect((await refused.json()).error).toBe('invalid_scope');
  expect((await tokenByPost(request, 'stock-sync-2', secret, 'inventory-api:read')).status()).toBe(200);
});

test('a changed method is enforced at once, and so are lifetime and the grant switch', async ({ page, request }) => {
  await signIn(page);
  await openEdit(page, '-', 'stock-sync-2');
  await page.getByLabel('Client authentication method').selectOption('client_secret_basic');
  await page.getByLabel('Access token lifetime (seconds)').fill('900');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('edit-status')).toHaveText('Saved.');

  expect((await tokenByPost(request, 'stock-sync-2', secret)).status()).toBe(401);
  const basic = 'Basic ' + Buffer.from(`stock-sync-2:${secret}`).toString('base64');
  const byBasic = await request.post(`/${tenant}/-/oauth/token`, {
    form: { grant_type: 'client_credentials' },
    headers: { Authorization: basic },
  });
  expect(byBasic.status()).toBe(200);
  expect((await byBasic.json()).expires_in).toBe(900);

  await page.getByLabel('Client credentials grant enabled').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('edit-status')).toHaveText('Saved.');
  const disabled = await request.post(`/${tenant}/-/oauth/token`, {
    form: { grant_type: 'client_credentials' },
    headers: { Authorization: basic },
  });
  expect((await disabled.json()).error).toBe('unauthorized_client');

  await page.getByLabel('Client credentials grant enabled').check();
  await page.getByLabel('Client authentication method').selectOption('client_secret_post');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('edit-status')).toHaveText('Saved.');
  expect((await tokenByPost(request, 'stock-sync-2', secret)).status()).toBe(200);
});

test('a second environment has its own keys and registrations', async ({ page, request }) => {
  await signIn(page);
  await page.goto(`/console/${tenant}/-/settings`);
  await hydrated(page);
  await page.getByLabel('New environment name').fill('test');
  await page.getByLabel('New environment display name').fill('Test');
  await page.getByRole('button', { name: 'Create environment' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/test/applications`);
  await hydrated(page);
  await expect(page.getByLabel('Environment')).toHaveValue('test');

  await createResource(page, 'test', 'test-api', ['read']);
  const production = await (await request.get(`/${tenant}/-/.well-known/openid-configuration/keys`)).json();
  const own = await (await request.get(`/${tenant}/test/.well-known/openid-configuration/keys`)).json();
  expect(own.keys[0].kid).not.toBe(production.keys[0].kid);
  await page.goto(`/console/${tenant}/-/applications`);
  await hydrated(page);
  await expect(page.getByTestId('application-inventory-api')).toBeVisible();
  await expect(page.getByTestId('application-test-api')).toHaveCount(0);

  await page.goto(`/console/${tenant}/test/settings`);
  await hydrated(page);
  await page.getByLabel('Environment display name', { exact: true }).fill('Staging');
  await page.getByRole('button', { name: 'Rename environment' }).click();
  await expect(page.getByText('Now shown as Staging.')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Environment').locator('option:checked')).toHaveText('Staging');
});

test('a rotation keeps a verifier that caches the JWKS accepting fresh tokens', async ({ page, request }) => {
  test.setTimeout(150_000);
  const issuer = `${baseURL}/${tenant}/-/`;
  const jwksUrl = `${issuer}.well-known/openid-configuration/keys`;
  const before = await (await tokenByPost(request, 'stock-sync-2', secret)).json();
  const oldKid = decodeProtectedHeader(before.access_token).kid;

  await signIn(page);
  await page.goto(`/console/${tenant}/-/settings`);
  await hydrated(page);
  await page.getByLabel('Grace period (minutes)').fill('1');
  await page.getByRole('button', { name: 'Rotate' }).click();
  await expect(page.getByTestId('rotate-status')).toContainText('published');
  await expect(page.getByTestId('key-next')).toHaveCount(1);
  await page.getByRole('button', { name: 'Rotate' }).click();
  await expect(page.getByTestId('rotate-error')).toContainText('already under way');

  // The verifier fetches the keys once, after the next key was published, and never again.
  const cached = createLocalJWKSet(await (await request.get(jwksUrl)).json());
  const verify = (token: string) => jwtVerify(token, cached, { issuer, typ: 'at+jwt' });
  await verify(before.access_token);

  const during = await (await tokenByPost(request, 'stock-sync-2', secret)).json();
  expect(decodeProtectedHeader(during.access_token).kid).toBe(oldKid);
  await verify(during.access_token);

  await page.waitForTimeout(61_000);
  const after = await (await tokenByPost(request, 'stock-sync-2', secret)).json();
  expect(decodeProtectedHeader(after.access_token).kid).not.toBe(oldKid);
  await verify(after.access_token);
  await verify(before.access_token);

  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('key-primary')).toHaveCount(1);
  await expect(page.getByTestId('key-retired')).toContainText(oldKid!);
});

test('deleting a granted resource names what goes with it', async ({ page, request }) => {
  await signIn(page);
  await openEdit(page, '-', 'inventory-api');
  await page.getByRole('button', { name: 'Delete application' }).click();
  await expect(page.getByTestId('delete-consequences')).toContainText('stock-sync-2');
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  await expect(page.getByTestId('application-inventory-api')).toHaveCount(0);
  const refused = await tokenByPost(request, 'stock-sync-2', secret, 'inventory-api:read');
  expect((await refused.json()).error).toBe('invalid_scope');
});

test('each change is in the audit trail, newest first, filtered by registration', async ({ page }) => {
  await signIn(page);
  await page.goto(`/console/${tenant}/-/audit`);
  await hydrated(page);
  await page.getByLabel('Registration').fill('stock-sync-2');
  await page.getByRole('button', { name: 'Filter' }).click();
  const rows = page.getByTestId('audit-entries').getByRole('row');
  await expect(rows.first()).toContainText('application.updated');
  const text = await page.getByTestId('audit-entries').textContent();
  for (const action of ['client_secret.added', 'client_secret.removed', 'application.updated']) {
    expect(text).toContain(action);
  }
  expect(text).toContain('renamed from stock-sync');
  expect(text).not.toContain(secret);
  expect(text).not.toContain('typed-secret-with-expiry');

  await page.getByLabel('Registration').fill('inventory-api');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByTestId('audit-entries')).toContainText('application.deleted');
});

test('another tenant is created and the header switches between tenants', async ({ page }) => {
  await signIn(page);
  await page.goto(`/console/${tenant}/-/settings`);
  await hydrated(page);
  await page.getByLabel('New tenant name').fill('Zeta');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/zeta/-/applications`);
  await hydrated(page);
  await expect(page.getByText('No applications yet.', { exact: false })).toBeVisible();

  await page.getByTestId('tenant-name').getByRole('combobox').selectOption(tenant);
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/applications`);
  await hydrated(page);
  await expect(page.getByTestId('application-stock-sync-2')).toBeVisible();
});
