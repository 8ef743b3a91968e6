// Tenant administration: an administrator creates a tenant and adds a viewer; the viewer signs
// in and can change nothing, in the page or by calling the server directly.
import { test, expect } from '@playwright/test';
import { ADMIN_EMAIL, choosePasswordByLink, signIn, waitForHydration } from '../support.mjs';
import { randomBytes } from 'node:crypto';

test('an administrator creates a tenant and adds a viewer, who cannot change anything', async ({ page, browser, baseURL }) => {
  const tenant = `acme-${randomBytes(3).toString('hex')}`;
  const viewerEmail = `viewer-${tenant}@example.com`;
  const viewerPassword = randomBytes(18).toString('base64url');

  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const create = page.getByTestId('create-tenant');
  await create.getByLabel('Id').fill(tenant);
  await create.getByLabel('Name').fill('Acme Corp');
  await create.getByRole('button', { name: 'Create tenant' }).click();
  const row = page.getByTestId('tenants').getByRole('row', { name: new RegExp(tenant) });
  await expect(row).toContainText('Acme Corp');
  await expect(row).toContainText('owner');

  await row.getByRole('link', { name: tenant }).click();
  await expect(page).toHaveURL(new RegExp(`/tenants/${tenant}$`));
  const add = page.getByTestId('add-member');
  await add.getByLabel('Email').fill(viewerEmail);
  await add.getByLabel('Role').selectOption('viewer');
  await add.getByRole('button', { name: 'Add member' }).click();
  const viewerRow = page.getByTestId('members').getByRole('row', { name: new RegExp(viewerEmail) });
  await expect(viewerRow.getByTestId('member-role')).toHaveText('viewer');
  // The owner never chose the viewer's password: the viewer does, through a one-time link.
  await expect(page.getByTestId('add-member')).not.toContainText('password');
  await choosePasswordByLink(browser, page.request, baseURL, viewerEmail, viewerPassword);

  // Cloud settings are validated; the owner sees why a value is refused.
  const config = page.getByTestId('tenant-config');
  await config.getByLabel('AWS account id').fill('12345');
  await config.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.getByRole('alert')).toContainText('aws_account_id');
  await config.getByLabel('AWS account id').fill('123456789012');
  await config.getByLabel('AWS region').fill('eu-central-1');
  await config.getByLabel('Plan').selectOption('enterprise');
  await config.getByRole('button', { name: 'Save configuration' }).click();
  await expect(page.getByTestId('config-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('audit-events')).toContainText('tenant.update_config');
  await expect(page.getByTestId('audit-events')).toContainText('member.add');
  await waitForHydration(page);
  await page.getByTestId('verify-audit').click();
  await expect(page.getByTestId('audit-result')).toContainText('Audit chain intact');

  // The viewer, in a browser of their own.
  const context = await browser.newContext();
  const viewer = await context.newPage();
  await signIn(viewer, viewerEmail, viewerPassword);
  await expect(viewer.getByTestId('create-tenant')).toHaveCount(0);
  const own = viewer.getByTestId('tenants').getByRole('row', { name: new RegExp(tenant) });
  await expect(own).toContainText('viewer');
  await own.getByRole('link', { name: tenant }).click();
  await expect(viewer.getByTestId('read-only')).toBeVisible();
  await expect(viewer.getByTestId('your-role')).toContainText('your role: viewer');
  await expect(viewer.getByTestId('members')).toContainText(viewerEmail);
  await expect(viewer.getByTestId('add-member')).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Change role' })).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(viewer.getByTestId('tenant-config')).toHaveCount(0);
  await expect(viewer.getByTestId('config-facts')).toContainText('enterprise');
  await expect(viewer.getByTestId('verify-audit')).toHaveCount(0);

  // Going around the page does not help: the server applies the same policy.
  const forged = await viewer.request.post('/api/fn/add_member', {
    headers: { origin: baseURL, accept: 'application/json' },
    form: { tenant, email: 'intruder@example.com', role: 'owner' },
  });
  expect(forged.status()).toBe(403);
  expect(await forged.text()).toContain('the viewer role may not');
  const rest = await viewer.request.put(`/api/v1/tenants/${tenant}/config`, {
    headers: { origin: baseURL },
    data: { name: 'Hijacked', status: 'suspended', plan: 'free', quotas: { max_users: 1, max_workflows: 1 } },
  });
  expect(rest.status()).toBe(403);

  // The viewer may still change their own password, and sign in with it.
  const newPassword = randomBytes(18).toString('base64url');
  await viewer.getByRole('link', { name: 'All tenants' }).click();
  await viewer.getByRole('link', { name: 'Account' }).click();
  await expect(viewer).toHaveURL(/\/account$/);
  const change = viewer.getByTestId('change-password');
  await change.getByLabel('Current password').fill(viewerPassword);
  await change.getByLabel(/New password/).fill(newPassword);
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(viewer.getByTestId('password-changed')).toBeVisible();
  await context.close();
  const again = await (await browser.newContext()).newPage();
  await signIn(again, viewerEmail, newPassword);

  // Nothing changed.
  await page.reload();
  await expect(page.getByTestId('members')).not.toContainText('intruder@example.com');
  await expect(page.getByTestId('your-role')).toContainText('Acme Corp');
});
