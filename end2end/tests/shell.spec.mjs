// The app shell: server rendering, hydration, navigation, server functions and the 404 page.
import { test, expect } from '@playwright/test';
import { waitForHydration } from '../support.mjs';

test('renders the shell on the server, before any script runs', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain('Workflow orchestration control plane');
  for (const section of ['Studio', 'Deployments', 'Monitor', 'Audit', 'Tenants', 'Actions', 'ControlCenter']) {
    expect(html).toContain(`>${section}<`);
  }
});

test('hydrates: the navigation toggle works only once the WASM is running', async ({ page }) => {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  const toggle = page.getByTestId('nav-toggle');
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await waitForHydration(page);
  await toggle.click();
  await expect(page.locator('.app')).toHaveClass(/nav-collapsed/);
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  expect(errors).toEqual([]);
});

test('round-trips a server function to the database', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  await page.getByTestId('check-status').click();
  const version = page.getByTestId('database-version');
  await expect(version).toContainText(/PostgreSQL \d+/);
  await expect(version).toContainText('(embedded)');
  await expect(page.getByTestId('status-result')).toContainText('Migrations applied');
});

test('navigates client-side between sections', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Actions' }).click();
  await expect(page).toHaveURL(/\/actions$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Actions');
  await expect(page.getByTestId('not-available')).toContainText('Not available yet');
  await expect(page).toHaveTitle('Actions · ASTRAflow');
});

test('unknown routes get the app 404 page with status 404', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('Page not found');
  await expect(page.locator('.sidenav')).toBeVisible();
});

