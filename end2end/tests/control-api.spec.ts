// The Control API end to end: an automation client made in the console's master environment,
// then plain HTTP only, registering an API and a client and getting a token for it.
import { test, expect, Page } from '@playwright/test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import SwaggerParser from '@apidevtools/swagger-parser';
import { baseURL } from '../playwright.config';
import { hydrated, signIn, tenant } from '../support/console';

const api = `/api/v1/tenants/${tenant}`;

test.describe.configure({ mode: 'serial' });

let automationSecret = '';

test('the master environment lists the built-in Control API resource', async ({ page }) => {
  await signIn(page);
  await page.goto(`/console/${tenant}/master/applications`);
  await hydrated(page);

  const row = page.getByTestId('application-fennec-control');
  await expect(row).toContainText('fennec-control:read');
  await expect(row).toContainText('fennec-control:write');
});

test('an automation client is created in the console with fennec-control:write', async ({ page }) => {
  await signIn(page);
  await page.goto(`/console/${tenant}/master/applications/new-client`);
  await hydrated(page);
  await page.getByLabel('Display name').fill('Pipeline');
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Client ID').fill('pipeline');
  await page.getByLabel('fennec-control:write', { exact: true }).check();
  await page.getByRole('button', { name: 'Create' }).click();

  automationSecret = (await page.getByTestId('client-secret').textContent())!.trim();
  expect(automationSecret).toHaveLength(43);
});

test('with only HTTP, the automation client registers an API and a client that gets a token', async ({ request }) => {
  const tokenAnswer = await request.post(`/${tenant}/master/oauth/token`, {
    form: {
      grant_type: 'client_credentials',
      client_id: 'pipeline',
      client_secret: automationSecret,
      scope: 'fennec-control:write',
    },
  });
  expect(tokenAnswer.status()).toBe(200);
  const bearer = { Authorization: `Bearer ${(await tokenAnswer.json()).access_token}` };

  const resource = await request.post(`${api}/environments/-/resources`, {
    headers: bearer,
    data: { name: 'orders-api', display_name: 'Orders API', scopes: ['read', 'write'] },
  });
  expect(resource.status()).toBe(201);
  expect(resource.headers()['location']).toBe(`${api}/environments/-/resources/orders-api`);

  const client = await request.post(`${api}/environments/-/clients`, {
    headers: bearer,
    data: {
      name: 'order-sync',
      display_name: 'Order sync',
      grants: [{ resource: 'orders-api', scopes: ['read'] }],
    },
  });
  expect(client.status()).toBe(201);
  const created = await client.json();

  const token = await request.post(created.token_url, {
    form: { grant_type: 'client_credentials', client_id: 'order-sync', client_secret: created.secret, scope: 'orders-api:read' },
  });
  expect(token.status()).toBe(200);
  const jwks = createRemoteJWKSet(new URL(`${baseURL}/${tenant}/-/.well-known/openid-configuration/keys`));
  const { payload } = await jwtVerify((await token.json()).access_token, jwks, {
    issuer: `${baseURL}/${tenant}/-/`,
    audience: 'orders-api',
    typ: 'at+jwt',
  });
  expect(payload.scope).toBe('orders-api:read');

  // The console shows what the API registered, and the audit trail names the client.
  const audit = await request.get(`${api}/audit?target=order`, { headers: bearer });
  const records = await audit.json();
  expect(records.map((r: { actor: string }) => r.actor)).toContain('client pipeline');
});

test('a missing scope and another tenant are refused', async ({ request }) => {
  const tokenAnswer = await request.post(`/${tenant}/master/oauth/token`, {
    form: { grant_type: 'client_credentials', client_id: 'pipeline', client_secret: automationSecret, scope: 'fennec-control:write' },
  });
  const bearer = { Authorization: `Bearer ${(await tokenAnswer.json()).access_token}` };

  const otherTenant = await request.get('/api/v1/tenants/globex/environments', { headers: bearer });
  expect(otherTenant.status()).toBe(403);
  expect(otherTenant.headers()['content-type']).toBe('application/problem+json');
  expect(otherTenant.headers()['www-authenticate']).toContain('insufficient_scope');

  const noToken = await request.post(`${api}/environments/-/resources`, { data: { display_name: 'X', scopes: ['a'] } });
  expect(noToken.status()).toBe(401);
  expect(noToken.headers()['www-authenticate']).toContain('Bearer');

  const audienceOnly = await request.post(`/${tenant}/master/oauth/token`, {
    form: { grant_type: 'client_credentials', client_id: 'pipeline', client_secret: automationSecret, scope: 'fennec-control' },
  });
  const noScope = await request.get(api, {
    headers: { Authorization: `Bearer ${(await audienceOnly.json()).access_token}` },
  });
  expect(noScope.status()).toBe(403);
  expect((await noScope.json()).type).toBe('urn:fennec:problem:insufficient-scope');
});

test('the API docs page renders the OpenAPI document without leaving Fennec', async ({ page }) => {
  const outside: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(baseURL)) outside.push(r.url());
  });
  await page.goto('/api/v1/docs');

  await expect(page.getByRole('heading', { name: /Fennec Control API/ })).toBeVisible();
  await expect(page.getByText('/api/v1/tenants/{tenant}/environments/{env}/clients', { exact: true }).first()).toBeVisible();
  expect(outside).toEqual([]);
});

test('the OpenAPI document is valid OpenAPI 3.1', async ({ request }) => {
  const answer = await request.get('/api/v1/openapi.json');
  expect(answer.status()).toBe(200);
  const document = await answer.json();

  // Validates against the OpenAPI 3.1 schema and resolves every $ref.
  const validated = await SwaggerParser.validate(structuredClone(document));
  expect(validated.openapi).toMatch(/^3\.1\./);
  expect(Object.keys(document.paths).length).toBeGreaterThan(10);
});
