// Pages run under their Content-Security-Policy: the app hydrates, its server functions answer,
// and the browser reports no violation of the policy on the way.
import { test, expect } from '@playwright/test';
import { waitForHydration } from '../support.mjs';

test('the sign-in page hydrates and works with no policy violation', async ({ page }) => {
  const violations = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to (execute|load|apply|connect|evaluate)/i.test(message.text())) {
      violations.push(message.text());
    }
  });
  await page.exposeFunction('reportViolation', (text) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.reportViolation(`${event.violatedDirective}: ${event.blockedURI}`);
    });
  });
  const response = await page.goto('/login');
  expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  await waitForHydration(page);
  // A server function called by the hydrated page answers in place.
  const form = page.getByTestId('sign-in-form');
  await form.getByLabel('Email').fill('nobody@example.com');
  await form.getByLabel('Password').fill('not the password');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  expect(violations).toEqual([]);
});
