// The live monitor and the audit trail: instances started through the REST API appear and
// complete on screen without a reload; an incident raised by a real Zeebe worker (zeebe-node)
// appears live and is resolved from the page; an auditor exports the execution trail and the
// export verifies with an independent implementation of the hashing rule.
import { test, expect } from '@playwright/test';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ZBClient } from 'zeebe-node';
import { ADMIN_EMAIL, choosePasswordByLink, signIn, waitForHydration } from '../support.mjs';

const TENANT = 'demo';

function bpmn(id, jobType) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="${id}" name="Payment ${id}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="charge" name="Charge card">
      <bpmn:extensionElements><zeebe:taskDefinition type="${jobType}" /></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge" />
    <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia">
    <bpmndi:BPMNPlane id="plane" bpmnElement="${id}">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="152" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="charge_di" bpmnElement="charge"><dc:Bounds x="240" y="60" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="392" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="188" y="100" /><di:waypoint x="240" y="100" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="340" y="100" /><di:waypoint x="392" y="100" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

/// Declares the job type, imports the workflow and deploys it to dev; returns its id and what
/// a worker needs to connect to the dev engine: its gateway address and an engine client's
/// OAuth credentials (workers authenticate, as with Camunda 8).
async function deployed(api, baseURL, id, jobType) {
  const headers = { origin: baseURL };
  expect((await api.post(`/api/v1/tenants/${TENANT}/job-types`, { headers, data: { type: jobType } })).status()).toBe(201);
  const created = await api.post('/api/v1/workflows', {
    headers, data: { tenant_id: TENANT, bpmn_xml: bpmn(id, jobType) },
  });
  expect(created.status()).toBe(201);
  const workflow = (await created.json()).workflow.id;
  const requested = await api.post('/api/v1/deployments', {
    headers, data: { workflow_id: workflow, environment: 'dev' },
  });
  expect(requested.status()).toBe(202);
  const deployment = (await requested.json()).id;
  await expect.poll(async () => (await (await api.get(`/api/v1/deployments/${deployment}/status`)).json()).state,
    { timeout: 30_000 }).toBe('deployed');
  const client = await api.post(`/api/v1/tenants/${TENANT}/environments/dev/clients`, {
    headers, data: { name: `worker ${jobType}`, permissions: ['jobs'] },
  });
  expect(client.status()).toBe(201);
  const gateway = await client.json();
  expect(gateway.gateway_address).toBeTruthy();
  return { workflow, gateway };
}

async function startInstance(api, baseURL, workflow, variables = {}) {
  const started = await api.post(`/api/v1/workflows/${workflow}/executions`, {
    headers: { origin: baseURL }, data: { environment: 'dev', variables },
  });
  expect(started.status()).toBe(201);
  return String((await started.json()).process_instance_key);
}

// How the test workers poll: long polls of two seconds, as zeebe-node's defaults would make
// the tests wait.
const WORKER = { tenantId: TENANT, loglevel: 'NONE', longPoll: 2000, pollInterval: 50, timeout: 10_000 };

function zeebe(access) {
  return new ZBClient(access.gateway_address, {
    useTLS: false,
    loglevel: 'NONE',
    retry: false,
    oAuth: {
      url: access.token_url,
      audience: access.audience,
      clientId: access.client_id,
      clientSecret: access.client_secret,
      cacheOnDisk: false,
    },
  });
}

test('instances started through the API appear and complete on screen without reload', async ({ page, baseURL }) => {
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const api = page.request;
  const suffix = randomBytes(3).toString('hex');
  const { workflow, gateway } = await deployed(api, baseURL, `pay_${suffix}`, `pay-${suffix}`);

  await page.goto(`/monitor?tenant=${TENANT}`);
  await waitForHydration(page);
  await expect(page.getByTestId('live-status')).toHaveText('live', { timeout: 30_000 });
  let reloads = 0;
  page.on('load', () => { reloads += 1; });

  const keys = [await startInstance(api, baseURL, workflow, { amount: 10 }),
    await startInstance(api, baseURL, workflow, { amount: 20 })];
  for (const key of keys) {
    await expect(page.locator(`[data-testid=instances] tr[data-key="${key}"]`))
      .toHaveAttribute('data-state', 'active', { timeout: 30_000 });
  }

  // A real Zeebe worker completes the jobs; the rows turn completed on their own.
  const client = zeebe(gateway);
  const worker = client.createWorker({
    taskType: `pay-${suffix}`,
    ...WORKER,
    taskHandler: (job) => job.complete({ charged: true }),
  });
  try {
    for (const key of keys) {
      await expect(page.locator(`[data-testid=instances] tr[data-key="${key}"]`))
        .toHaveAttribute('data-state', 'completed', { timeout: 30_000 });
    }
  } finally {
    await worker.close(5000);
    await client.close();
  }
  expect(reloads).toBe(0);

  // The instance's page: elements coloured by state, the job, the timeline.
  await page.locator(`[data-testid=instances] tr[data-key="${keys[0]}"] a`).click();
  await expect(page.getByTestId('instance-state')).toHaveAttribute('data-state', 'completed');
  await expect(page.locator('[data-element="charge"]')).toHaveAttribute('data-state', 'completed');
  // The diagram is the definition drawn by the designer's renderer, coloured by state.
  const diagram = page.getByTestId('instance-diagram');
  await expect(diagram.locator('[data-element-id="charge"]')).toHaveClass(/\bcompleted\b/);
  await expect(diagram.locator('[data-element-id="f2"]')).toHaveClass(/\btaken\b/);
  await expect(diagram.locator('[data-element-id="end"]')).toHaveClass(/\bcompleted\b/);
  await expect(page.getByTestId('jobs')).toContainText(`pay-${suffix}`);
  await expect(page.getByTestId('timeline')).toContainText('PROCESS_COMPLETED');
  await expect(page.getByTestId('timeline')).toContainText('Charge card');
});

test('an incident appears live and is resolved from the monitor', async ({ page, baseURL }) => {
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const api = page.request;
  const suffix = randomBytes(3).toString('hex');
  const { workflow, gateway } = await deployed(api, baseURL, `flaky_${suffix}`, `flaky-${suffix}`);

  // The card is declined the first time, and goes through after a retry.
  let declined = 0;
  const client = zeebe(gateway);
  const worker = client.createWorker({
    taskType: `flaky-${suffix}`,
    ...WORKER,
    taskHandler: (job) => {
      if (declined === 0) {
        declined += 1;
        return job.fail({ errorMessage: 'card declined', retries: 0 });
      }
      return job.complete({ charged: true });
    },
  });
  try {
    await page.goto(`/monitor?tenant=${TENANT}`);
    await waitForHydration(page);
    await expect(page.getByTestId('live-status')).toHaveText('live', { timeout: 30_000 });
    const key = await startInstance(api, baseURL, workflow, { amount: 99 });

    const incident = page.locator('[data-testid=incidents] tr', { hasText: 'card declined' });
    await expect(incident).toBeVisible({ timeout: 30_000 });
    await expect(incident).toContainText('JOB_NO_RETRIES');
    await expect(page.locator(`[data-testid=instances] tr[data-key="${key}"]`)).toContainText('1 incident');
    // On the instance's own page the task with the incident is marked, with its waiting token.
    const instancePage = await page.context().newPage();
    await instancePage.goto(`/monitor/${TENANT}/dev/${key}`);
    const stuck = instancePage.getByTestId('instance-diagram').locator('[data-element-id="charge"]');
    await expect(stuck).toHaveClass(/\bincident\b/);
    await expect(stuck.locator('.badge')).toHaveText('1');
    await instancePage.close();

    await incident.getByTestId('retry').click();
    await expect(page.getByTestId('retry-outcome')).toHaveAttribute('data-outcome', 'resolved', { timeout: 30_000 });
    await expect(page.getByTestId('retry-outcome')).toContainText('Resolved');
    await expect(page.locator(`[data-testid=instances] tr[data-key="${key}"]`))
      .toHaveAttribute('data-state', 'completed', { timeout: 30_000 });
    await expect(page.locator('[data-testid=incidents] tr', { hasText: 'card declined' })).toHaveCount(0);
  } finally {
    await worker.close(5000);
    await client.close();
  }
});

/// The canonical JSON the server hashes: keys sorted at every level, no whitespace.
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/// RFC 3339 UTC with exactly six fractional digits, as the hashing rule says.
function micros(timestamp) {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp);
  return `${match[1]}.${(match[2] ?? '').padEnd(6, '0').slice(0, 6)}Z`;
}

test('an auditor sees the monitor read-only and exports an execution trail that verifies', async ({ page, browser, baseURL }) => {
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  const email = `auditor-${randomBytes(3).toString('hex')}@example.com`;
  const password = randomBytes(18).toString('base64url');
  const added = await page.request.post(`/api/v1/tenants/${TENANT}/users`, {
    headers: { origin: baseURL }, data: { email, role: 'auditor' },
  });
  expect(added.status()).toBe(201);
  await choosePasswordByLink(browser, page.request, baseURL, email, password);

  // Something to audit: an instance run to completion by a worker.
  const suffix = randomBytes(3).toString('hex');
  const { workflow, gateway } = await deployed(page.request, baseURL, `audit_${suffix}`, `audit-${suffix}`);
  const client = zeebe(gateway);
  const worker = client.createWorker({
    taskType: `audit-${suffix}`,
    ...WORKER,
    taskHandler: (job) => job.complete({ receipt: 'r-1', cardToken: 'tok_secret' }),
  });
  const key = await startInstance(page.request, baseURL, workflow, { amount: 5 });
  await expect.poll(async () => (await (await page.request.get(
    `/api/v1/tenants/${TENANT}/environments/dev/instances/${key}`)).json()).instance?.state,
  { timeout: 30_000 }).toBe('completed');
  await worker.close(5000);
  await client.close();

  const context = await browser.newContext({ acceptDownloads: true });
  const auditor = await context.newPage();
  await signIn(auditor, email, password);

  // Read-only monitor: instances are listed, no retry or cancel controls.
  await auditor.goto(`/monitor?tenant=${TENANT}`);
  await expect(auditor.getByTestId('instances')).toBeVisible();
  await expect(auditor.getByTestId('retry')).toHaveCount(0);
  await auditor.locator(`[data-testid=instances] tr[data-key="${key}"] a`).click();
  await expect(auditor.getByTestId('instance-state')).toBeVisible();
  await expect(auditor.getByTestId('cancel-instance')).toHaveCount(0);
  await expect(auditor.getByTestId('variable-form')).toHaveCount(0);

  // The execution trail verifies on the server…
  await auditor.goto(`/audit?tenant=${TENANT}`);
  await waitForHydration(auditor);
  await auditor.getByTestId('audit-filters').getByLabel('Trail').selectOption('execution');
  await auditor.getByTestId('audit-filters').getByRole('button', { name: 'Apply' }).click();
  await expect(auditor).toHaveURL(/trail=execution/);
  await expect(auditor.getByTestId('chain-status')).toHaveAttribute('data-verified', 'true');
  await expect(auditor.getByTestId('trail')).toContainText('PROCESS_COMPLETED');

  // …and the export verifies here, recomputed link by link.
  const [download] = await Promise.all([
    auditor.waitForEvent('download'),
    auditor.getByTestId('export-json').click(),
  ]);
  const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
  expect(exported.trail).toBe('execution');
  expect(exported.verification.ok).toBe(true);
  const events = exported.events;
  expect(events.length).toBeGreaterThan(10);
  let previous = '0'.repeat(64);
  for (const event of events) {
    expect(event.prevHash).toBe(previous);
    const { prevHash, auditHash, ...fields } = event;
    fields.timestamp = micros(fields.timestamp);
    const hash = createHash('sha256')
      .update(Buffer.from(prevHash, 'hex'))
      .update(canonical(fields))
      .digest('hex');
    expect(hash, `event ${event.seq}`).toBe(auditHash);
    previous = auditHash;
  }
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  // Secrets in variables were sanitized before they reached the trail.
  const completion = events.find((e) => e.executionId === key && e.eventType === 'JOB_COMPLETED');
  expect(completion.variables).toEqual({ receipt: 'r-1', cardToken: '***' });

  // The control-plane trail, filtered by actor, exports as CSV.
  await auditor.goto(`/audit?tenant=${TENANT}&trail=control&actor=${encodeURIComponent(ADMIN_EMAIL)}`);
  await expect(auditor.getByTestId('chain-status')).toHaveAttribute('data-verified', 'true');
  await expect(auditor.getByTestId('trail')).toContainText('execution.start');
  const [csv] = await Promise.all([
    auditor.waitForEvent('download'),
    auditor.getByTestId('export-csv').click(),
  ]);
  const text = await readFile(await csv.path(), 'utf8');
  expect(text.split('\r\n')[0]).toContain('"audit_hash"');
  expect(text).toContain(ADMIN_EMAIL);
  await context.close();
});
