// The Studio designer, driven with the mouse and keyboard like a person would: build a
// payment process from the palette, connect it, set its properties, save it as a workflow,
// reload and find the same model; undo and redo restore exact states; a BPMN interchange
// reference model opens and exports without losing elements.
import { test, expect } from '@playwright/test';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { ADMIN_EMAIL, signIn, waitForHydration } from '../support.mjs';

// Room for the palette, the canvas and the panel side by side, as on a desktop.
test.use({ viewport: { width: 1440, height: 1000 } });

const MIWG = new URL('../../testdata/miwg/', import.meta.url);

/// Screen position of a diagram point (the canvas starts unzoomed at the origin).
async function at(page, x, y) {
  const box = await page.locator('.canvas-svg').boundingBox();
  return { x: box.x + x, y: box.y + y };
}

async function drag(page, from, to) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
  await page.mouse.move(to.x, to.y, { steps: 4 });
  await page.mouse.up();
}

/// Drags a palette entry onto the canvas at diagram point (x, y); returns the new element's id.
async function create(page, key, x, y) {
  const before = await page.locator('[data-kind=node]').count();
  const item = page.locator(`[data-palette="${key}"]`);
  await item.scrollIntoViewIfNeeded();
  const box = await item.boundingBox();
  await drag(page, { x: box.x + box.width / 2, y: box.y + box.height / 2 }, await at(page, x, y));
  await expect(page.locator('[data-kind=node]')).toHaveCount(before + 1);
  return await page.locator('[data-prop=id]').inputValue();
}

/// Drags the connect handle of the selected node at diagram (hx, hy) onto diagram (x, y).
async function connect(page, source, hx, hy, x, y) {
  await page.locator(`[data-id="${source}"]`).click();
  const handle = page.locator(`[data-handle=connect][data-for="${source}"]`);
  await expect(handle).toBeVisible();
  await drag(page, await at(page, hx, hy), await at(page, x, y));
  await expect(page.getByTestId('properties-kind')).toHaveText('Sequence flow');
  return await page.locator('[data-prop=id]').inputValue();
}

async function setField(page, prop, value) {
  const field = page.locator(`[data-prop="${prop}"]`);
  await field.fill(value);
  await field.press('Enter');
  await field.blur();
}

async function xml(page) {
  const details = page.locator('details.xml');
  if (!(await details.evaluate((d) => d.open))) {
    await page.getByTestId('xml-toggle').click();
  }
  const area = page.getByTestId('xml');
  await expect(area).not.toHaveValue('');
  return await area.inputValue();
}

function ids(text) {
  return new Set([...text.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
}

test('a process built with the mouse saves as a workflow and reloads identical', async ({ page }) => {
  await signIn(page, ADMIN_EMAIL, process.env.E2E_ADMIN_PASSWORD);
  await page.goto('/studio');
  await waitForHydration(page);
  await expect(page.locator('[data-id=StartEvent_1]')).toBeVisible();

  const task = await create(page, 'service-task', 350, 160);
  const gateway = await create(page, 'exclusive-gateway', 520, 160);
  const big = await create(page, 'end-event', 680, 60);
  const small = await create(page, 'end-event', 680, 260);

  await connect(page, 'StartEvent_1', 214, 160, 350, 160);
  await connect(page, task, 416, 160, 520, 160);
  const toBig = await connect(page, gateway, 561, 160, 680, 60);
  // FEEL is checked as it is typed: an incomplete expression is underlined with the reason.
  const condition = page.locator('[data-prop=condition]');
  await condition.fill('=amount >');
  await expect(condition).toHaveClass(/feel-error/);
  await expect(page.locator('[data-error-for=condition]')).toBeVisible();
  await setField(page, 'condition', '=amount > 100');
  await expect(condition).not.toHaveClass(/feel-error/);
  const toSmall = await connect(page, gateway, 561, 160, 680, 260);
  await setField(page, 'condition', '=amount <= 100');

  // The service task: its label edited in place, the job type and a header in the panel.
  await page.locator(`[data-id="${task}"]`).dblclick();
  await page.getByTestId('label-editor').fill('Charge card');
  await page.getByTestId('label-editor').press('Enter');
  await expect(page.locator(`[data-id="${task}"] text`)).toContainText('Charge card');
  await page.locator(`[data-id="${task}"]`).click();
  await setField(page, 'task-type', 'charge');
  await setField(page, 'retries', '5');
  const headers = page.locator('fieldset[data-prop=headers]');
  await headers.locator('[data-new=left]').fill('currency');
  await headers.locator('[data-new=right]').fill('EUR');
  await headers.locator('[data-add=headers]').click();
  await expect(headers.locator('.pair[data-row="0"] input').first()).toHaveValue('currency');

  // The process: a unique id, so this run's workflow is new.
  await page.locator('.canvas').focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('properties-kind')).toHaveText('Process');
  const processId = `payment_${randomBytes(4).toString('hex')}`;
  await setField(page, 'id', processId);
  await setField(page, 'name', 'Payment');

  const model = await xml(page);
  expect(model).toContain(`<bpmn:process id="${processId}" name="Payment" isExecutable="true">`);
  expect(model).toContain('<zeebe:taskDefinition type="charge" retries="5"/>');
  expect(model).toContain('<zeebe:header key="currency" value="EUR"/>');
  expect(model).toMatch(new RegExp(`<bpmn:sequenceFlow id="${toBig}" sourceRef="${gateway}" targetRef="${big}">`));
  expect(model).toContain('=amount &gt; 100</bpmn:conditionExpression>');
  expect(model).toMatch(new RegExp(`<bpmn:sequenceFlow id="${toSmall}" sourceRef="${gateway}" targetRef="${small}">`));
  expect(model).toContain('name="Charge card"');
  // Every element is connected and configured: nothing to report.
  await expect(page.getByTestId('problems').locator('.finding-row.error')).toHaveCount(0);

  await page.getByTestId('save-tenant').selectOption('demo');
  await page.getByTestId('save-message').fill('First draft');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('studio-status')).toHaveText('Saved as version 1');
  await expect(page).toHaveURL(/\/studio\?workflow=[0-9a-f-]+$/);
  const workflow = new URL(page.url()).searchParams.get('workflow');

  // Saved as written: the server's copy is the editor's document, byte for byte.
  const stored = await page.request.get(`/api/v1/workflows/${workflow}/versions/1`);
  expect(stored.status()).toBe(200);
  expect((await stored.json()).bpmn_xml).toBe(model);

  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('studio-title')).toHaveText('Payment — version 1');
  expect(await xml(page)).toBe(model);

  // Saving the same model again creates no version; a change creates version 2.
  await page.getByTestId('save').click();
  await expect(page.getByTestId('studio-status')).toHaveText('No changes since version 1');
  await page.locator(`[data-id="${small}"]`).click();
  await setField(page, 'name', 'Small amount');
  await page.getByTestId('save').click();
  await expect(page.getByTestId('studio-status')).toHaveText('Saved as version 2');
});

test('undo and redo restore exact states', async ({ page }) => {
  await page.goto('/studio');
  await waitForHydration(page);
  const states = [await xml(page)];
  const task = await create(page, 'user-task', 340, 160);
  states.push(await xml(page));
  await connect(page, 'StartEvent_1', 214, 160, 340, 160);
  states.push(await xml(page));
  // Move the task by dragging it.
  await drag(page, await at(page, 340, 150), await at(page, 400, 250));
  states.push(await xml(page));
  expect(states[3]).not.toBe(states[2]);
  // A timer boundary event dropped on the task attaches to it.
  const timer = await create(page, 'timer-boundary-event', 450, 290);
  states.push(await xml(page));
  expect(states[4]).toContain(`attachedToRef="${task}"`);
  await setField(page, 'timer-value', 'PT15M');
  states.push(await xml(page));
  expect(states[5]).toContain('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT15M</bpmn:timeDuration>');
  // Delete the task (the boundary event and the flow go with it).
  await page.locator(`[data-id="${task}"]`).click();
  await page.keyboard.press('Delete');
  await expect(page.locator(`[data-id="${timer}"]`)).toHaveCount(0);
  states.push(await xml(page));

  for (let i = states.length - 2; i >= 0; i -= 1) {
    await page.keyboard.press('Control+z');
    expect(await xml(page)).toBe(states[i]);
  }
  await expect(page.getByTestId('undo')).toBeDisabled();
  for (let i = 1; i < states.length; i += 1) {
    await page.keyboard.press(i % 2 ? 'Control+y' : 'Control+Shift+z');
    expect(await xml(page)).toBe(states[i]);
  }
  await expect(page.getByTestId('redo')).toBeDisabled();
  // Redo history ends with a new command.
  await page.getByTestId('undo').click();
  expect(await xml(page)).toBe(states[states.length - 2]);
});

test('selection, clipboard and lasso work from the keyboard and mouse', async ({ page }) => {
  await page.goto('/studio');
  await waitForHydration(page);
  await create(page, 'service-task', 340, 160);
  await connect(page, 'StartEvent_1', 214, 160, 340, 160);
  await page.locator('.canvas').focus();
  await page.keyboard.press('Escape');
  // Shift-drag on empty canvas lassoes the two nodes and their flow.
  await page.keyboard.down('Shift');
  await drag(page, await at(page, 120, 90), await at(page, 420, 215));
  await page.keyboard.up('Shift');
  await expect(page.getByTestId('properties')).toContainText('3 elements selected');
  // Shift-click removes one again.
  await page.locator('[data-id=StartEvent_1]').click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('properties')).toContainText('2 elements selected');
  await page.keyboard.press('Control+a');
  await expect(page.getByTestId('properties')).toContainText('3 elements selected');
  await page.keyboard.press('Control+c');
  await page.keyboard.press('Control+v');
  await expect(page.locator('[data-kind=node]')).toHaveCount(4);
  await expect(page.locator('[data-kind=flow]')).toHaveCount(2);
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('properties-kind')).toHaveText('Process');
  // Zoom buttons.
  await page.getByTestId('zoom-in').click();
  await expect(page.getByTestId('zoom')).toHaveText('120 %');
});

test('a BPMN interchange reference model opens and exports without losing elements', async ({ page }) => {
  await page.goto('/studio');
  await waitForHydration(page);
  const file = new URL('C.1.0.bpmn', MIWG);
  const original = await readFile(file, 'utf8');
  await page.getByTestId('open-file').setInputFiles(file.pathname);
  await expect(page.getByTestId('studio-status')).toContainText('Opened C.1.0.bpmn');
  const shapes = (original.match(/<bpmndi:BPMNShape\b/g) ?? []).length;
  const edges = (original.match(/<bpmndi:BPMNEdge\b/g) ?? []).length;
  await expect(page.locator('.layer-back > g, .layer-front > g')).toHaveCount(shapes);
  await expect(page.locator('.layer-edges > g')).toHaveCount(edges);
  await expect(page.locator('[data-glyph=unknown]')).toHaveCount(0);

  const exported = await xml(page);
  const missing = [...ids(original)].filter((id) => !ids(exported).has(id));
  expect(missing).toEqual([]);

  // The download is the same document.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-file').click()]);
  expect(await readFile(await download.path(), 'utf8')).toBe(exported);
  // The SVG export is a standalone drawing of every element, without editor decorations.
  const [svg] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-svg').click()]);
  const drawing = await readFile(await svg.path(), 'utf8');
  expect(drawing).toMatch(/^<\?xml[^>]*>\n<svg /);
  expect((drawing.match(/data-element-id=/g) ?? []).length).toBe(shapes + edges);
  expect(drawing).not.toContain('overlay-layer');

  // Undo brings back the diagram from before the import.
  await page.locator('.canvas').focus();
  await page.keyboard.press('Control+z');
  await expect(page.locator('[data-id=StartEvent_1]')).toBeVisible();
});

test('a broken file is refused with the reason and the diagram stays', async ({ page }) => {
  await page.goto('/studio');
  await waitForHydration(page);
  await page.getByTestId('open-file').setInputFiles({
    name: 'broken.bpmn', mimeType: 'application/xml', buffer: Buffer.from('<bpmn:definitions'),
  });
  await expect(page.getByTestId('studio-problem')).toContainText('broken.bpmn');
  await expect(page.locator('[data-id=StartEvent_1]')).toBeVisible();
});
