// Browser tests run against a real server binary with its own embedded PostgreSQL, in Debian's
// Chromium. scripts/test.sh builds everything and sets E2E_SERVER_BIN; to run these by
// hand see CONTRIBUTING.md.
import { defineConfig } from '@playwright/test';
import { mkdtempSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const port = Number(process.env.E2E_PORT ?? 3100);
// A real OpenID Connect provider (oidc-provider, oidc/provider.mjs) for the single sign-on test.
const oidcPort = Number(process.env.E2E_OIDC_PORT ?? port + 1);
const oidcIssuer = `http://127.0.0.1:${oidcPort}`;
const oidcClient = { id: 'astraflow-e2e', secret: 'e2e-client-secret' };
const callback = `http://127.0.0.1:${port}/auth/oidc/callback`;
const serverBin = process.env.E2E_SERVER_BIN;
if (!serverBin) {
  throw new Error('E2E_SERVER_BIN must name the built server binary (scripts/test.sh sets it)');
}

// A fresh data directory per run: the server initialises its own database in it. It must be
// traversable by the unprivileged account PostgreSQL runs as when the tests run as root.
// scripts/test.sh passes one (and removes it afterwards); by hand, a temporary one is made.
let dataDir = process.env.E2E_DATA_DIR;
if (!dataDir) {
  dataDir = mkdtempSync(join(tmpdir(), 'astraflow-e2e-'));
  chmodSync(dataDir, 0o755);
  process.env.E2E_DATA_DIR = dataDir; // workers reload this file; make them reuse the directory
}

// The first-start administrator's password for this run: random, chosen here so the tests can
// sign in (the server would otherwise print a generated one-time password on its console).
if (!process.env.E2E_ADMIN_PASSWORD) {
  process.env.E2E_ADMIN_PASSWORD = randomBytes(18).toString('base64url');
}

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  timeout: 60_000,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }],
  webServer: [{
    command: 'node oidc/provider.mjs',
    url: `${oidcIssuer}/.well-known/openid-configuration`,
    timeout: 30_000,
    reuseExistingServer: false,
    env: {
      ...process.env,
      OIDC_PORT: String(oidcPort),
      OIDC_CLIENT_ID: oidcClient.id,
      OIDC_CLIENT_SECRET: oidcClient.secret,
      OIDC_REDIRECT_URIS: callback,
    },
  }, {
    command: serverBin,
    cwd: '..',
    url: `http://127.0.0.1:${port}/readyz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 30_000 },
    env: {
      ...process.env,
      DATABASE_URL: '',
      ASTRAFLOW_HTTP__PORT: String(port),
      ASTRAFLOW_DATA_DIR: dataDir,
      ASTRAFLOW_INITIAL_ADMIN_PASSWORD: process.env.E2E_ADMIN_PASSWORD,
      // Every browser signs in from 127.0.0.1, the admin many times a minute across the specs.
      ASTRAFLOW_AUTH__SIGN_INS_PER_MINUTE_PER_ADDRESS: '100000',
      ASTRAFLOW_AUTH__SIGN_INS_PER_MINUTE_PER_ACCOUNT: '100000',
      ASTRAFLOW_AUTH__OIDC__ISSUER_URL: oidcIssuer,
      ASTRAFLOW_AUTH__OIDC__CLIENT_ID: oidcClient.id,
      ASTRAFLOW_AUTH__OIDC__CLIENT_SECRET: oidcClient.secret,
      ASTRAFLOW_AUTH__OIDC__REDIRECT_URL: callback,
      ASTRAFLOW_AUTH__OIDC__DISPLAY_NAME: 'Test IdP',
    },
  }],
});
