// What we write must open in bpmn-moddle — the reader behind bpmn-js and Camunda Modeler — at
// least as cleanly as what we read: for every MIWG reference model and every fixture of the
// bpmn crate, `bpmn-roundtrip --out` writes our canonical XML, and bpmn-moddle may report no
// warning for it that it does not report for the original, nor lose an element it found there.
//
// Run: node --test bpmn-moddle/   (from end2end/; scripts/test.sh sets BPMN_ROUNDTRIP_BIN to the
// built tool, otherwise it is run with cargo).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpmnModdle } from 'bpmn-moddle';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function bpmnFiles(dir) {
  return readdirSync(join(repo, dir))
    .filter((f) => f.endsWith('.bpmn'))
    .sort()
    .map((f) => join(repo, dir, f));
}

const inputs = [...bpmnFiles('testdata/miwg'), ...bpmnFiles('bpmn/tests/fixtures')];
let outDir;

before(() => {
  outDir = mkdtempSync(join(tmpdir(), 'bpmn-moddle-roundtrip-'));
  const [command, ...prefix] = process.env.BPMN_ROUNDTRIP_BIN
    ? [process.env.BPMN_ROUNDTRIP_BIN]
    : ['cargo', 'run', '-q', '-p', 'bpmn', '--bin', 'bpmn-roundtrip', '--'];
  const run = spawnSync(command, [...prefix, '--out', outDir, ...inputs], {
    cwd: repo,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, `bpmn-roundtrip failed:\n${run.stdout}${run.stderr}`);
});

after(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

// A warning without its position (line and column move when we re-indent), and with the
// element or attribute it names without a prefix (we write other prefixes than the source).
function warningKey(w) {
  const [what, ...details] = w.message.split('\n');
  return [
    what.replace(/<[\w.-]+:([\w.-]+)>/g, '<$1>'),
    ...details.map((line) => line.trim()).filter((line) => !/^(line|column):/.test(line)),
  ].join(' | ');
}

async function open(path) {
  const { warnings, elementsById } = await new BpmnModdle().fromXML(readFileSync(path, 'utf8'));
  const counts = new Map();
  for (const key of warnings.map(warningKey)) counts.set(key, (counts.get(key) ?? 0) + 1);
  return { counts, ids: Object.keys(elementsById) };
}

test('the reference models and the fixtures are all there', () => {
  assert.equal(inputs.filter((f) => f.includes('/testdata/miwg/')).length, 12);
  assert.ok(inputs.filter((f) => f.includes('/bpmn/tests/fixtures/')).length >= 2);
});

for (const input of inputs) {
  test(`${basename(input)} opens in bpmn-moddle as cleanly after our round-trip`, async () => {
    const original = await open(input);
    const written = await open(join(outDir, basename(input)));
    const added = [...written.counts]
      .filter(([key, n]) => n > (original.counts.get(key) ?? 0))
      .map(([key, n]) => `${n - (original.counts.get(key) ?? 0)} × ${key}`);
    assert.deepEqual(added, [], `warnings the round-trip added:\n  ${added.join('\n  ')}`);
    const seen = new Set(written.ids);
    const lost = original.ids.filter((id) => !seen.has(id));
    assert.deepEqual(lost, [], 'elements bpmn-moddle no longer finds');
  });
}
