// Studio performance in a real browser (Debian's Chromium): how long a generated model of
// about 1,000 flow elements takes to open, and how long one step of dragging a shape takes.
//
//   node end2end/bench/studio.mjs [BASE_URL] [ELEMENTS]
//
// BASE_URL is a running server (default http://127.0.0.1:3000, what scripts/run.sh starts).
// The model comes from `cargo run -p designer --example sample`.
//
// Opening is timed by the page itself, from reading the file's text to the first rendering
// after the new diagram is in the DOM (parse, scene, validation, DOM, style, layout, paint).
// A drag step is timed here: from dispatching a pointer move to the moment the moved
// preview's new position is in the DOM and laid out (a forced layout), i.e. all the work the
// step adds to a frame.
import { chromium } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const elements = Number(process.argv[3] ?? 1000);
const RUNS = 5;
const STEPS = 120;
const root = fileURLToPath(new URL('../..', import.meta.url));

const xml = execFileSync('cargo', ['run', '-q', '-p', 'designer', '--example', 'sample', '--', String(elements)], {
  cwd: root, encoding: 'utf8', maxBuffer: 64 << 20,
});
const count = (xml.match(/<bpmn:(serviceTask|startEvent|endEvent|sequenceFlow)\b/g) ?? []).length;

/// The page is interactive once the navigation toggle works (it needs the WASM).
async function hydrated(page) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await page.getByTestId('nav-toggle').click();
    const collapsed = await page.locator('.app.nav-collapsed').count();
    if (collapsed) {
      await page.getByTestId('nav-toggle').click();
      return;
    }
    await page.waitForTimeout(200);
  }
  throw new Error('the page did not hydrate');
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return { p50: q(0.5), p95: q(0.95), max: sorted[sorted.length - 1] };
}
const ms = (v) => `${v.toFixed(1)} ms`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const opens = [];
for (let run = 0; run < RUNS; run += 1) {
  await page.goto(`${base}/studio`);
  await hydrated(page);
  await page.getByTestId('open-file').setInputFiles({ name: 'generated.bpmn', mimeType: 'application/xml', buffer: Buffer.from(xml) });
  await page.waitForFunction(() => document.querySelector('.canvas')?.dataset.importMs, null, { timeout: 60_000 });
  opens.push(Number(await page.locator('.canvas').getAttribute('data-import-ms')));
}
const shapes = await page.locator('[data-kind=node]').count();

async function dragSteps(selector) {
  const box = await page.locator(selector).first().boundingBox();
  const start = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(start.x, start.y);
  await page.mouse.down();
  await page.mouse.move(start.x + 10, start.y + 10, { steps: 2 });
  const times = await page.evaluate(async ({ start, steps }) => {
    const ghost = document.querySelector('.ghost');
    const out = [];
    for (let i = 1; i <= steps; i += 1) {
      const before = ghost.getAttribute('transform');
      const changed = new Promise((resolve) => {
        const observer = new MutationObserver(() => { observer.disconnect(); resolve(); });
        observer.observe(ghost, { attributes: true, attributeFilter: ['transform'] });
      });
      const t0 = performance.now();
      window.dispatchEvent(new PointerEvent('pointermove', {
        clientX: start.x + 10 + i * 3, clientY: start.y + 10 + (i % 20), bubbles: true, pointerId: 1,
      }));
      await changed;
      ghost.getBoundingClientRect(); // style and layout of the step, synchronously
      out.push(performance.now() - t0);
      if (ghost.getAttribute('transform') === before) throw new Error('the preview did not move');
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
    return out;
  }, { start, steps: STEPS });
  const dropStarted = Date.now();
  const revision = await page.locator('.canvas').getAttribute('data-revision');
  await page.mouse.up();
  await page.waitForFunction((r) => document.querySelector('.canvas').dataset.revision !== r, revision);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  return { steps: stats(times), drop: Date.now() - dropStarted };
}

const one = await dragSteps('[data-id="Activity_250"]');
await page.locator('.canvas').focus();
await page.keyboard.press('Control+a');
const all = await dragSteps('[data-id="Activity_250"]');
await browser.close();

const open = stats(opens);
console.log(`model: ${count} flow elements (${shapes} shapes drawn), ${(xml.length / 1024).toFixed(0)} KiB of XML`);
console.log(`open (${RUNS} runs): p50 ${ms(open.p50)}, max ${ms(open.max)}`);
console.log(`drag step, one shape selected (${STEPS} steps): p50 ${ms(one.steps.p50)}, p95 ${ms(one.steps.p95)}, max ${ms(one.steps.max)}; drop ${one.drop} ms`);
console.log(`drag step, all selected (${STEPS} steps): p50 ${ms(all.steps.p50)}, p95 ${ms(all.steps.p95)}, max ${ms(all.steps.max)}; drop ${all.drop} ms`);
