// Workflows from import to prod: a BPMN file is imported, deployed to dev, promoted to prod with
// the default policy (two approvals, one of them an owner's, never the requester's own), and a
// dev deployment is rolled back to the version before it.
import { test, expect } from '@playwright/test';
import { ADMIN_EMAIL, choosePasswordByLink, signIn, waitForHydration } from '../support.mjs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const fixture = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/// The newest deployment row for `label` ("dev v1").
function row(page, label) {
  return page.getByTestId('deployments').getByRole('row', { name: label, exact: true }).first();
}

test('import, deploy to dev, promote to prod with approvals, roll back', async ({ page, browser, baseURL }) => {
  const tenant = `shop-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');

  // The tenant and two colleagues, set up through the REST API.
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const api = page.request;
  expect((await api.post('/api/v1/tenants', {
    headers: { origin: baseURL }, data: { id: tenant, name: 'Shop' },
  })).status()).toBe(201);
  for (const [name, role] of [['editor', 'editor'], ['owner', 'owner']]) {
    const added = await api.post(`/api/v1/tenants/${tenant}/users`, {
      headers: { origin: baseURL },
      data: { email: `${name}-${tenant}@example.com`, role },
    });
    expect(added.status()).toBe(201);
    await choosePasswordByLink(browser, api, baseURL, `${name}-${tenant}@example.com`, password);
  }

  // Import a BPMN file: version 1.
  await page.goto(`/tenants/${tenant}/workflows`);
  await waitForHydration(page);
  await expect(page.getByTestId('environments')).toContainText('2, one from an owner');
  // An owner tightens staging to two approvals from owners only.
  const staging = page.getByTestId('environments').getByRole('row', { name: 'staging' });
  await waitForHydration(page);
  await staging.getByLabel('Approvals').fill('2');
  await staging.getByLabel('editor').uncheck();
  await staging.getByRole('button', { name: 'Save' }).click();
  await expect(staging.getByTestId('approvals')).toHaveText('2');
  await expect(staging).toContainText('owner');
  await expect(staging.getByRole('cell', { name: 'owner', exact: true })).toBeVisible();
  const importForm = page.getByTestId('import-workflow');
  await importForm.getByLabel('BPMN file').setInputFiles(fixture('order-v1.bpmn'));
  await importForm.getByLabel('Message').fill('first cut');
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/workflows\/[0-9a-f-]{36}$/);
  const workflowUrl = page.url();
  await expect(page.getByTestId('workflow-name')).toHaveText('Order fulfilment');
  await expect(page.getByTestId('versions')).toContainText('first cut');
  await expect(page.getByTestId('versions')).toContainText(ADMIN_EMAIL);

  // A second version from another file.
  const versionForm = page.getByTestId('import-version');
  await versionForm.getByLabel(/New version/).setInputFiles(fixture('order-v2.bpmn'));
  await versionForm.getByLabel('Message').fill('second cut');
  await versionForm.getByRole('button', { name: 'Add version' }).click();
  await expect(page.getByTestId('imported')).toContainText('version 2');
  await waitForHydration(page);

  // Deploy 1 then 2 to dev: no approval needed; progress shows live.
  const wizard = page.getByTestId('deploy-form');
  for (const version of ['1', '2']) {
    await wizard.getByLabel('Version').selectOption(version);
    await wizard.getByLabel('Environment').selectOption('dev');
    await wizard.getByRole('button', { name: 'Deploy' }).click();
    await expect(row(page, `dev v${version}`).getByTestId('deployment-state'))
      .toHaveText('deployed (active)', { timeout: 30_000 });
  }

  // Request prod: two approvals, one from an owner.
  await wizard.getByLabel('Version').selectOption('2');
  await wizard.getByLabel('Environment').selectOption('prod');
  await wizard.getByRole('button', { name: 'Deploy' }).click();
  const prod = row(page, 'prod v2');
  await expect(prod.getByTestId('deployment-state')).toHaveText('awaiting approval (2 more)', { timeout: 30_000 });

  // The requester's own approval is refused.
  await prod.getByRole('button', { name: 'Approve' }).click();
  await expect(page.getByTestId('action-error')).toContainText('someone else must approve it');
  await expect(prod.getByTestId('deployment-state')).toHaveText('awaiting approval (2 more)');

  // The editor approves, then the owner; the deployment goes out.
  for (const [name, after] of [['editor', 'awaiting approval (1 more)'], ['owner', 'deployed (active)']]) {
    const context = await browser.newContext();
    const colleague = await context.newPage();
    await signIn(colleague, `${name}-${tenant}@example.com`, password);
    await colleague.goto(workflowUrl);
    await waitForHydration(colleague);
    const line = row(colleague, 'prod v2');
    await line.getByRole('button', { name: 'Approve' }).click();
    await expect(line.getByTestId('deployment-state')).toHaveText(after, { timeout: 30_000 });
    await context.close();
  }
  await page.reload();
  await expect(row(page, 'prod v2').getByTestId('deployment-state')).toHaveText('deployed (active)');
  await expect(row(page, 'prod v2')).toContainText(`editor-${tenant}@example.com`);

  // Roll dev back: version 1 is active again; version 2's deployment is rolled back.
  await waitForHydration(page);
  await row(page, 'dev v2').getByRole('button', { name: 'Roll back' }).click();
  await expect(row(page, 'dev v1').getByTestId('deployment-state'))
    .toHaveText('deployed (active)', { timeout: 30_000 });
  await expect(row(page, 'dev v1')).toContainText('(rollback)');
  await expect(row(page, 'dev v2').getByTestId('deployment-state')).toHaveText('rolled back');
  await expect(page.getByText('Instances already running keep the version they started on.')).toBeVisible();
});

test('a file that is not BPMN is refused with the reason and nothing is stored', async ({ page, baseURL }) => {
  const tenant = `bad-${randomBytes(3).toString('hex')}`;
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  expect((await page.request.post('/api/v1/tenants', {
    headers: { origin: baseURL }, data: { id: tenant, name: 'Bad' },
  })).status()).toBe(201);
  await page.goto(`/tenants/${tenant}/workflows`);
  const importForm = page.getByTestId('import-workflow');
  await importForm.getByLabel('BPMN file').setInputFiles({
    name: 'notes.bpmn', mimeType: 'text/plain', buffer: Buffer.from('just some notes'),
  });
  await importForm.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByTestId('upload-error')).toContainText('malformed XML');
  await expect(page.getByText('No workflows yet.')).toBeVisible();
});
