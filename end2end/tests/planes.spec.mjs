// Execution planes on the tenant page: a real astraflow-plane, started with an engine client of
// the tenant's dev environment, reports to the server; every member sees it live with its
// connectors, and stopped once it was told to stop.
import { test, expect } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ADMIN_EMAIL, signIn, waitForHydration } from '../support.mjs';

const planeBin = process.env.E2E_PLANE_BIN ?? join(dirname(process.env.E2E_SERVER_BIN), 'astraflow-plane');

test('a running plane shows live with its connectors, then stopped', async ({ page, baseURL }) => {
  const tenant = `planes-${randomBytes(3).toString('hex')}`;
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const api = page.request;
  expect((await api.post('/api/v1/tenants', {
    headers: { origin: baseURL }, data: { id: tenant, name: 'Planes' },
  })).status()).toBe(201);
  const created = await api.post(`/api/v1/tenants/${tenant}/environments/dev/clients`, {
    headers: { origin: baseURL }, data: { name: 'execution plane', permissions: ['jobs'] },
  });
  expect(created.status()).toBe(201);
  const client = await created.json();

  await page.goto(`/tenants/${tenant}`);
  const dev = page.getByTestId('environment-dev');
  await expect(dev.getByTestId('no-planes')).toBeVisible();

  // The plane as a customer runs it: settings in its environment, nothing else.
  const dir = mkdtempSync(join(tmpdir(), 'astraflow-plane-e2e-'));
  const plane = spawn(planeBin, [], {
    env: {
      PATH: process.env.PATH,
      ASTRAFLOW_PLANE_CONFIG: join(dir, 'none.toml'),
      ASTRAFLOW_PLANE_TENANT: tenant,
      ASTRAFLOW_PLANE_WORKER_NAME: 'plane-one',
      ASTRAFLOW_PLANE_GATEWAY__ADDRESS: `http://${client.gateway_address}`,
      ASTRAFLOW_PLANE_OAUTH__TOKEN_URL: client.token_url,
      ASTRAFLOW_PLANE_OAUTH__CLIENT_ID: client.client_id,
      ASTRAFLOW_PLANE_OAUTH__CLIENT_SECRET: client.client_secret,
      ASTRAFLOW_PLANE_OAUTH__AUDIENCE: client.audience,
      ASTRAFLOW_PLANE_CONTROL_PLANE__URL: baseURL,
      ASTRAFLOW_PLANE_CONTROL_PLANE__HEARTBEAT_SECS: '1',
      ASTRAFLOW_PLANE_JOURNAL__DIR: join(dir, 'journal'),
      ASTRAFLOW_PLANE_HTTP__PORT: '0',
    },
    stdio: 'ignore',
  });
  try {
    const row = dev.getByTestId('planes').locator('tr[data-plane="plane-one"]');
    await expect(async () => {
      await page.reload();
      await expect(row.getByTestId('plane-health')).toHaveText('live', { timeout: 1000 });
    }).toPass({ timeout: 30_000 });
    await expect(row.getByTestId('plane-connectors')).toHaveText('io.camunda:http-json:1');
    await expect(row).toContainText(client.client_id);
    await expect(row).toContainText('0 of 64');
    await waitForHydration(page);

    // SIGTERM: the plane stops taking jobs and says so before it exits.
    const exited = new Promise((resolve) => plane.once('exit', resolve));
    plane.kill('SIGTERM');
    expect(await exited).toBe(0);
    await page.reload();
    await expect(row.getByTestId('plane-health')).toHaveText('stopped');
  } finally {
    plane.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
