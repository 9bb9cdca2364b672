// private_key_jwt end to end: certificates made here by openssl and keytool are added in the
// client wizard, then each client gets a token with an assertion signed by its private key.
import { test, expect, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { SignJWT, importPKCS8, createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { baseURL } from '../playwright.config';
import { hydrated, signIn, tenant } from '../support/console';

const issuer = `${baseURL}/${tenant}/-/`;
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let dir = '';

function run(program: string, args: string[]) {
  execFileSync(program, args, { cwd: dir, stdio: 'pipe' });
}

/** A self-signed certificate `{name}.crt` with its PKCS#8 key `{name}.key`. */
function selfSigned(name: string, newkey: string[]) {
  run('openssl', ['req', '-x509', '-nodes', '-days', '30', '-subj', `/CN=${name}`, ...newkey,
    '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}

function pkcs12(name: string, password: string, extra: string[] = []) {
  run('openssl', ['pkcs12', '-export', '-inkey', `${name}.key`, '-in', `${name}.crt`,
    '-out', `${name}.pfx`, '-passout', `pass:${password}`, ...extra]);
}

/** The certificate's x5t: SHA-1 of its DER, base64url. */
function x5t(name: string): string {
  const der = new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw;
  return createHash('sha1').update(der).digest('base64url');
}

interface Upload { client: string; file: string; password: string; keyName: string; alg: string }

const uploads: Upload[] = [
  { client: 'pkj-rsa2048', file: 'rsa2048.pfx', password: 'modern aes', keyName: 'rsa2048', alg: 'RS256' },
  { client: 'pkj-rsa3072', file: 'rsa3072.pfx', password: '', keyName: 'rsa3072', alg: 'PS256' },
  { client: 'pkj-p256', file: 'p256.pfx', password: 'ec key', keyName: 'p256', alg: 'ES256' },
  { client: 'pkj-legacy', file: 'legacy.pfx', password: 'old format', keyName: 'legacy', alg: 'RS256' },
  { client: 'pkj-keytool', file: 'keytool.p12', password: 'changeit', keyName: 'keytool', alg: 'RS256' },
  { client: 'pkj-pem', file: 'pem-only.crt', password: '', keyName: 'pem-only', alg: 'RS256' },
  // The certificate as `openssl pkcs12 -nokeys` writes it: text lines before the PEM block.
  { client: 'pkj-bag', file: 'bag.pem', password: '', keyName: 'bag', alg: 'ES256' },
];

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fennec-certs-'));
  selfSigned('rsa2048', ['-newkey', 'rsa:2048']);
  pkcs12('rsa2048', 'modern aes');
  selfSigned('rsa3072', ['-newkey', 'rsa:3072']);
  pkcs12('rsa3072', '');
  selfSigned('p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  pkcs12('p256', 'ec key');
  selfSigned('legacy', ['-newkey', 'rsa:2048']);
  pkcs12('legacy', 'old format', ['-legacy']);
  selfSigned('pem-only', ['-newkey', 'rsa:2048']);
  selfSigned('small', ['-newkey', 'rsa:1024']);
  selfSigned('bag', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  pkcs12('bag', 'pw');
  run('openssl', ['pkcs12', '-in', 'bag.pfx', '-passin', 'pass:pw', '-nokeys', '-out', 'bag.pem']);

  // Java's keytool with its default PKCS#12; the key is taken out again for the client side.
  run('keytool', ['-genkeypair', '-alias', 'client', '-keyalg', 'RSA', '-keysize', '2048',
    '-storetype', 'PKCS12', '-keystore', 'keytool.p12', '-storepass', 'changeit',
    '-dname', 'CN=keytool', '-validity', '30']);
  run('keytool', ['-exportcert', '-rfc', '-alias', 'client', '-keystore', 'keytool.p12',
    '-storepass', 'changeit', '-file', 'keytool.crt']);
  run('openssl', ['pkcs12', '-in', 'keytool.p12', '-passin', 'pass:changeit', '-nocerts',
    '-nodes', '-out', 'keytool.pem']);
  run('openssl', ['pkey', '-in', 'keytool.pem', '-out', 'keytool.key']);
});

test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function openWizardWithPrivateKeyJwt(page: Page, clientId: string) {
  await page.goto(`/console/${tenant}/-/applications/new-client`);
  await hydrated(page);
  await page.getByLabel('Display name').fill(clientId);
  await page.getByLabel('Show advanced').check();
  await page.getByLabel('Client ID').fill(clientId);
  await page.getByLabel('Client authentication method').selectOption('private_key_jwt');
  await expect(page.getByTestId('certificate-drop-zone')).toBeVisible();
}

async function signedAssertion(upload: Upload, audience: string): Promise<string> {
  const key = await importPKCS8(readFileSync(join(dir, `${upload.keyName}.key`), 'utf8'), upload.alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: upload.alg, typ: 'JWT', kid: x5t(upload.keyName) })
    .setIssuer(upload.client)
    .setSubject(upload.client)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .sign(key);
}

test.describe.configure({ mode: 'serial' });

test('wrong PKCS#12 password, small RSA keys and key-only files are refused with clear messages', async ({ page }) => {
  await signIn(page);
  await openWizardWithPrivateKeyJwt(page, 'pkj-refused');
  const files = page.getByLabel('Add certificate files');
  const problems = page.getByTestId('certificate-problems');

  await page.getByLabel('PKCS#12 password').fill('not the password');
  await files.setInputFiles(join(dir, 'rsa2048.pfx'));
  await expect(problems).toContainText('rsa2048.pfx: The password does not open this file.');

  await files.setInputFiles(join(dir, 'small.crt'));
  await expect(problems).toContainText('at least 2048 are required');

  await files.setInputFiles(join(dir, 'small.key'));
  await expect(problems).toContainText('Only .pfx, .p12, .cer, .crt, .pem and .der files are accepted.');

  await expect(page.getByTestId('certificate')).toHaveCount(0);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('certificates')).toContainText('A private key JWT client needs at least one certificate.');

  // The file the wrong password did not open is opened again once the password is corrected.
  await files.setInputFiles(join(dir, 'rsa2048.pfx'));
  await expect(problems).toContainText('The password does not open this file.');
  await page.getByLabel('PKCS#12 password').fill('modern aes');
  await page.getByRole('button', { name: /Open the \.pfx or \.p12 file again/ }).click();
  await expect(page.getByTestId('certificate')).toHaveCount(1);
  await expect(page.getByTestId('certificates-added')).toHaveText('Added certificate CN=rsa2048. ');
  await expect(problems).toBeEmpty();

  // Removing works from the keyboard, and the button names the certificate by its kid.
  const remove = page.getByRole('button', { name: `Remove certificate CN=rsa2048 (kid ${x5t('rsa2048')})` });
  await remove.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('certificate')).toHaveCount(0);
});

for (const upload of uploads) {
  test(`${upload.file} is added in the browser and its key gets a token`, async ({ page, request }) => {
    const sentToServer: string[] = [];
    page.on('request', (r) => sentToServer.push(r.postData() ?? ''));

    await signIn(page);
    await openWizardWithPrivateKeyJwt(page, upload.client);
    await page.getByLabel('PKCS#12 password').fill(upload.password);
    await page.getByLabel('Add certificate files').setInputFiles(join(dir, upload.file));

    const listed = page.getByTestId('certificate');
    await expect(listed).toHaveCount(1);
    await expect(listed).toContainText(`CN=${upload.keyName}`);
    await expect(listed.getByTestId('certificate-kid')).toHaveText(x5t(upload.keyName));
    await expect(listed.getByTestId('certificate-validity')).not.toContainText('not valid now');
    await page.getByTestId('grant-party-api2').getByLabel('read1').check();
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.getByRole('heading', { name: 'Client created' })).toBeVisible();
    await expect(page.getByTestId('client-secret')).toHaveCount(0);
    const tokenUrl = (await page.getByTestId('token-url').textContent())!.trim();

    // Neither the private key nor the PKCS#12 password went to the server.
    const key = readFileSync(join(dir, `${upload.keyName}.key`), 'utf8')
      .split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    for (const body of sentToServer) {
      expect(body).not.toContain(key.slice(0, 40));
      if (upload.password) expect(body).not.toContain(upload.password);
    }

    const response = await request.post(tokenUrl, {
      form: {
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await signedAssertion(upload, tokenUrl),
        scope: 'party-api2:read1',
      },
    });
    expect(response.status(), await response.text()).toBe(200);
    const { access_token } = await response.json();
    const jwks = createRemoteJWKSet(new URL(`${issuer}.well-known/openid-configuration/keys`));
    const { payload } = await jwtVerify(access_token, jwks, { issuer, audience: 'party-api2' });
    expect(payload.sub).toBe(upload.client);
  });
}

test('a replayed assertion is refused', async ({ request }) => {
  const upload = uploads[0];
  const tokenUrl = `${issuer}oauth/token`;
  const assertion = await signedAssertion(upload, issuer);
  const form = { grant_type: 'client_credentials', client_assertion_type: assertionType, client_assertion: assertion };
  expect((await request.post(tokenUrl, { form })).status()).toBe(200);
  const replay = await request.post(tokenUrl, { form });
  expect(replay.status()).toBe(401);
  expect(await replay.json()).toMatchObject({ error: 'invalid_client' });
});

test('openid-client discovers the issuer and gets a token with private_key_jwt', async () => {
  const upload = uploads[0];
  const key = await importPKCS8(readFileSync(join(dir, `${upload.keyName}.key`), 'utf8'), 'RS256');
  const config = await oidc.discovery(
    new URL(issuer),
    upload.client,
    { token_endpoint_auth_method: 'private_key_jwt' },
    oidc.PrivateKeyJwt({ key, kid: x5t(upload.keyName) }),
    { execute: [oidc.allowInsecureRequests] },
  );
  const tokens = await oidc.clientCredentialsGrant(config, { scope: 'party-api2:read1' });
  expect(tokens.token_type.toLowerCase()).toBe('bearer');
  expect(tokens.scope).toBe('party-api2:read1');
  const jwks = createRemoteJWKSet(new URL(`${issuer}.well-known/openid-configuration/keys`));
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer, audience: 'party-api2' });
  expect(payload.client_id).toBe(upload.client);
});

test('strict audience mode, switched in the environment settings, accepts only the issuer', async ({ page, request }) => {
  const upload = uploads[0];
  const tokenUrl = `${issuer}oauth/token`;
  const ask = async (audience: string) => request.post(tokenUrl, {
    form: {
      grant_type: 'client_credentials',
      client_assertion_type: assertionType,
      client_assertion: await signedAssertion(upload, audience),
    },
  });
  expect((await ask(tokenUrl)).status()).toBe(200);

  await signIn(page);
  await page.getByRole('link', { name: 'Environment settings' }).click();
  await expect(page).toHaveURL(`${baseURL}/console/${tenant}/-/settings`);
  await hydrated(page);
  const strict = page.getByLabel(/Strict audience/);
  await expect(strict).not.toBeChecked();
  await strict.check();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('settings-status')).toHaveText('Saved.');

  const refused = await ask(tokenUrl);
  expect(refused.status()).toBe(401);
  expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  expect((await ask(issuer)).status()).toBe(200);

  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel(/Strict audience/)).toBeChecked();
  await page.getByLabel(/Strict audience/).uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('settings-status')).toHaveText('Saved.');
  expect((await ask(tokenUrl)).status()).toBe(200);
});
