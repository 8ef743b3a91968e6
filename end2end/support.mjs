// What the browser tests share: waiting for hydration and signing in through the page.
import { expect } from '@playwright/test';

export const ADMIN_EMAIL = 'admin@astraflow.local';

// The navigation toggle only works once the WASM has hydrated the page, so toggling it
// back and forth proves the page is interactive.
export async function waitForHydration(page) {
  const app = page.locator('.app');
  const toggle = page.getByTestId('nav-toggle');
  await expect(async () => {
    await toggle.click();
    await expect(app).toHaveClass(/nav-collapsed/, { timeout: 500 });
  }).toPass({ timeout: 30_000 });
  await toggle.click();
  await expect(app).not.toHaveClass(/nav-collapsed/);
}

export async function signIn(page, email, password) {
  await page.goto('/login');
  await waitForHydration(page);
  const form = page.getByTestId('sign-in-form');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/tenants$/);
  await expect(page.getByTestId('who')).toContainText(email);
}

// A new member has no password: the platform administrator (signed in on `adminRequest`) has
// a one-time link made for them, and the member opens it in a browser of their own and chooses
// `password` on the set-password page. The e2e server has no mail server, so the link comes
// back to the administrator (it is printed on the server's console too).
export async function choosePasswordByLink(browser, adminRequest, baseURL, email, password) {
  const made = await adminRequest.post('/api/v1/platform/password-links', {
    headers: { origin: baseURL }, data: { email },
  });
  expect(made.status()).toBe(201);
  const link = await made.json();
  expect(link.delivery).toBe('printed');
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link.url);
  await waitForHydration(page);
  const form = page.getByTestId('set-password');
  await form.getByLabel(/New password/).fill(password);
  await form.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByTestId('password-set')).toBeVisible();
  await context.close();
}
