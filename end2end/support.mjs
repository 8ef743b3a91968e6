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
