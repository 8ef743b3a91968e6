// Single sign-on through a real OpenID Connect provider (oidc-provider, started by
// playwright.config.mjs): an owner invites a colleague by email, the colleague signs in with
// "Sign in with Test IdP" and lands in the tenant with the role they were given.
import { test, expect } from '@playwright/test';
import { randomBytes } from 'node:crypto';

const ADMIN_EMAIL = 'admin@astraflow.local';

test('a colleague invited by email signs in through the identity provider', async ({ page, browser, baseURL }) => {
  const login = `sso-${randomBytes(3).toString('hex')}`;
  const email = `${login}@example.test`;

  // The owner invites the colleague (no password: they will use single sign-on).
  const signedIn = await page.request.post('/api/v1/auth/login', {
    headers: { origin: baseURL },
    data: { email: ADMIN_EMAIL, password: process.env.E2E_ADMIN_PASSWORD },
  });
  expect(signedIn.status()).toBe(200);
  const invited = await page.request.post('/api/v1/tenants/demo/users', {
    headers: { origin: baseURL },
    data: { email, role: 'editor' },
  });
  expect(invited.status()).toBe(201);

  // The colleague, in a browser of their own.
  const context = await browser.newContext();
  // The provider's development login page imports a web font; nothing here may leave the machine.
  await context.route(/fonts\.(googleapis|gstatic)\.com/, (route) => route.abort());
  const colleague = await context.newPage();
  await colleague.goto('/login');
  const sso = colleague.getByTestId('sso-sign-in');
  await expect(sso).toHaveText('Sign in with Test IdP');
  await sso.click();

  // At the identity provider.
  await expect(colleague).toHaveURL(/127\.0\.0\.1:\d+\/interaction\//);
  await colleague.locator('input[name="login"]').fill(login);
  await colleague.locator('input[name="password"]').fill('any password');
  await colleague.locator('button[type="submit"]').click();

  // Back, signed in, with the role the owner gave.
  await expect(colleague).toHaveURL(/\/tenants$/);
  await expect(colleague.getByTestId('who')).toContainText(email);
  const row = colleague.getByTestId('tenants').getByRole('row', { name: /demo/ });
  await expect(row).toContainText('editor');
  await context.close();
});

test('a refused sign-in comes back to the sign-in page with the reason', async ({ page }) => {
  // A callback that this browser never started: the state cannot match.
  await page.goto('/auth/oidc/callback?code=forged&state=forged');
  await expect(page).toHaveURL(/\/login\?sso_error=/);
  await expect(page.getByTestId('sso-error')).toContainText('not started here');
});
