// Engine clients on the tenant page: an owner creates one for an environment, sees its secret
// once with settings ready for the usual Zeebe clients, finds it listed and revokes it; the
// token endpoint follows. A viewer sees the environments but can create or revoke nothing.
import { test, expect } from '@playwright/test';
import { ADMIN_EMAIL, choosePasswordByLink, signIn, waitForHydration } from '../support.mjs';
import { randomBytes } from 'node:crypto';

async function token(request, clientId, clientSecret) {
  return request.post('/oauth/token', {
    form: {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      audience: 'astraflow-engine:dev',
    },
  });
}

test('an owner creates an engine client, sees its secret once and revokes it; a viewer only reads', async ({ page, context, browser, baseURL }) => {
  const tenant = `engines-${randomBytes(3).toString('hex')}`;
  const viewerEmail = `viewer-${tenant}@example.com`;
  const viewerPassword = randomBytes(18).toString('base64url');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });

  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const create = page.getByTestId('create-tenant');
  await create.getByLabel('Id').fill(tenant);
  await create.getByLabel('Name').fill('Engines Inc');
  await create.getByRole('button', { name: 'Create tenant' }).click();
  const row = page.getByTestId('tenants').getByRole('row', { name: new RegExp(tenant) });
  await row.getByRole('link', { name: tenant }).click();
  await expect(page).toHaveURL(new RegExp(`/tenants/${tenant}$`));

  // Every environment says where its engine is and how clients authenticate.
  for (const environment of ['dev', 'staging', 'prod']) {
    const section = page.getByTestId(`environment-${environment}`);
    await expect(section.getByTestId('token-url')).toHaveText(`${baseURL}/oauth/token`);
    await expect(section.getByTestId('audience')).toHaveText(`astraflow-engine:${environment}`);
  }
  const dev = page.getByTestId('environment-dev');
  await expect(dev.getByTestId('no-clients')).toBeVisible();

  // A refusal shows where it happened: a client needs at least one permission.
  const staging = page.getByTestId('environment-staging');
  const stagingForm = staging.getByTestId('create-client');
  await stagingForm.getByLabel('Client name').fill('allowed nothing');
  await stagingForm.getByLabel('jobs').uncheck();
  await stagingForm.getByRole('button', { name: 'Create client' }).click();
  await expect(staging.getByRole('alert')).toContainText('permissions: must name at least one');
  await expect(dev.getByRole('alert')).toHaveCount(0);

  // Create a client with the jobs permission (ticked by default).
  const form = dev.getByTestId('create-client');
  await form.getByLabel('Client name').fill('invoice worker');
  await expect(form.getByLabel('jobs')).toBeChecked();
  await expect(form.getByLabel('deploy')).not.toBeChecked();
  await form.getByRole('button', { name: 'Create client' }).click();

  const created = dev.getByTestId('created-client');
  await expect(created).toContainText('shown only this once');
  await expect(staging.getByRole('alert')).toHaveCount(0);
  const clientId = (await created.getByTestId('client-id').textContent()).trim();
  const secret = (await created.getByTestId('client-secret').textContent()).trim();
  expect(clientId).toMatch(/^astc_[0-9a-f]{32}$/);
  expect(secret).toMatch(/^astcs_[0-9a-f]{64}$/);
  // No second client until this secret has been put away.
  await expect(dev.getByTestId('create-client')).toHaveCount(0);
  // Creating the client started the environment's embedded engine.
  await expect(dev.getByTestId('gateway-address')).toHaveText(/^127\.0\.0\.1:\d+$/);
  const gateway = (await dev.getByTestId('gateway-address').textContent()).trim();

  // Ready-made settings, filled in.
  const pyzeebe = created.getByTestId('settings-pyzeebe');
  await expect(pyzeebe).toContainText('create_oauth2_client_credentials_channel(');
  await expect(pyzeebe).toContainText(`grpc_address="${gateway}"`);
  await expect(pyzeebe).toContainText(`client_id="${clientId}"`);
  await expect(pyzeebe).toContainText(`client_secret="${secret}"`);
  await expect(pyzeebe).toContainText(`authorization_server="${baseURL}/oauth/token"`);
  await expect(pyzeebe).toContainText('audience="astraflow-engine:dev"');
  const node = created.getByTestId('settings-zeebe-node');
  for (const line of [
    `ZEEBE_ADDRESS=${gateway}`,
    `ZEEBE_CLIENT_ID=${clientId}`,
    `ZEEBE_CLIENT_SECRET=${secret}`,
    `ZEEBE_AUTHORIZATION_SERVER_URL=${baseURL}/oauth/token`,
    'ZEEBE_TOKEN_AUDIENCE=astraflow-engine:dev',
    'ZEEBE_SECURE_CONNECTION=false',
  ]) {
    await expect(node).toContainText(line);
  }
  const java = created.getByTestId('settings-java');
  await expect(java).toContainText(`camunda.client.zeebe.grpc-address=http://${gateway}`);
  await expect(java).toContainText(`camunda.client.auth.client-secret=${secret}`);
  await expect(java).toContainText(`ZEEBE_GRPC_ADDRESS=http://${gateway}`);

  // The Copy button puts the secret on the clipboard.
  await created.getByTestId('copy-secret').click();
  await expect(created.getByText('Copied.')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The client is listed, without its secret.
  const listed = dev.getByTestId('engine-clients').locator(`tr[data-client-id="${clientId}"]`);
  await expect(listed.getByTestId('client-name')).toHaveText('invoice worker');
  await expect(listed.getByTestId('client-permissions')).toHaveText('jobs');
  await expect(listed).toContainText(ADMIN_EMAIL);
  await expect(listed).toContainText('never');
  await expect(dev.getByTestId('engine-clients')).not.toContainText(secret);

  // The credentials work at the token endpoint.
  expect((await token(page.request, clientId, secret)).status()).toBe(200);

  // Shown once: once the owner is done, and after a reload, the secret is gone for good.
  await created.getByTestId('secret-stored').click();
  await expect(dev.getByTestId('created-client')).toHaveCount(0);
  await expect(dev.getByTestId('create-client').getByLabel('Client name')).toHaveValue('');
  await page.reload();
  await expect(listed).toBeVisible();
  await expect(page.getByTestId('environments')).not.toContainText(secret);
  await waitForHydration(page);

  // Revoking asks first; cancelling keeps the client.
  await listed.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expect(listed.getByRole('group', { name: 'Confirm revocation' }))
    .toContainText('Revoke invoice worker?');
  await listed.getByRole('button', { name: 'Cancel' }).click();
  await expect(listed.getByRole('button', { name: 'Yes, revoke' })).toHaveCount(0);
  await listed.getByRole('button', { name: 'Revoke', exact: true }).click();
  await listed.getByRole('button', { name: 'Yes, revoke' }).click();
  await expect(listed).toHaveCount(0);
  await expect(dev.getByTestId('no-clients')).toBeVisible();
  expect((await token(page.request, clientId, secret)).status()).toBe(401);

  await page.reload();
  await expect(page.getByTestId('audit-events')).toContainText('engine_client.create');
  await expect(page.getByTestId('audit-events')).toContainText('engine_client.revoke');

  // A viewer sees the environments, but neither the clients nor any control.
  await waitForHydration(page);
  const add = page.getByTestId('add-member');
  await add.getByLabel('Email').fill(viewerEmail);
  await add.getByLabel('Role').selectOption('viewer');
  await add.getByRole('button', { name: 'Add member' }).click();
  await expect(page.getByTestId('members')).toContainText(viewerEmail);
  await choosePasswordByLink(browser, page.request, baseURL, viewerEmail, viewerPassword);

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await signIn(viewer, viewerEmail, viewerPassword);
  await viewer.goto(`/tenants/${tenant}`);
  const viewerDev = viewer.getByTestId('environment-dev');
  await expect(viewerDev.getByTestId('audience')).toHaveText('astraflow-engine:dev');
  await expect(viewerDev.getByTestId('gateway-address')).toHaveText(gateway);
  await expect(viewerDev.getByTestId('clients-owners-only')).toBeVisible();
  await expect(viewer.getByTestId('create-client')).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Revoke', exact: true })).toHaveCount(0);

  // Going around the page does not help.
  const forged = await viewer.request.post('/api/fn/create_engine_client', {
    headers: { origin: baseURL, accept: 'application/json' },
    form: { tenant, environment: 'dev', name: 'sneaky', 'permissions[0]': 'deploy' },
  });
  expect(forged.status()).toBe(403);
  await viewerContext.close();
});
