// Conformance scenarios driven by zeebe-node against a running astraflow-engine.
//
// Usage: node scenarios.js ADDRESS RECORDS_FILE BPMN_DIR CLIENTS_FILE
//
// CLIENTS_FILE is JSON: `{token_url, audience, a: {tenant, client_id, client_secret}, b: {…}}`,
// two engine clients of the ASTRAflow server, each granting one tenant. Every call is
// authenticated as a real worker's: zeebe-node's OAuth provider fetches access tokens from
// `token_url` (client credentials) and sends them as bearer tokens, here over plain gRPC
// (`useTLS: false`). Client A runs the scenarios; client B is tenant A's neighbour in the
// tenant-isolation scenario; a client without credentials must be refused.
//
// Prints one line per scenario, `PASS node/<name>` or `FAIL node/<name>: <why>`; run.sh
// counts them. Everything goes through zeebe-node's ZBClient and its workers. Incident keys
// are not part of the gateway API, so they are read from the engine's exported record stream
// (RECORDS_FILE), as an operator tool would.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { ZBClient } = require('zeebe-node')

const [ADDRESS, RECORDS, BPMN, CLIENTS_FILE] = process.argv.slice(2)
const CLIENTS = JSON.parse(fs.readFileSync(CLIENTS_FILE, 'utf8'))
const POLL_INTERVAL_MS = 50
const POLL_ATTEMPTS = 300 // 15 s at most for any awaited condition

const jobType = (name) => `node-${name}-${crypto.randomBytes(4).toString('hex')}`
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// The engine appends to the file while it is read: whatever follows the last newline is a
// line still being written, read on the next poll.
function records() {
  return fs
    .readFileSync(RECORDS, 'utf8')
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line))
}

// The first exported record matching `predicate`, polling a bounded number of times.
async function waitRecord(describe, predicate) {
  for (let i = 0; i < POLL_ATTEMPTS; i++) {
    const found = records().find(predicate)
    if (found) return found
    await delay(POLL_INTERVAL_MS)
  }
  throw new Error(`no record: ${describe}`)
}

const instanceCompleted = (pik) => (r) =>
  r.valueType === 'PROCESS_INSTANCE' && r.intent === 'ELEMENT_COMPLETED' && String(r.key) === String(pik)

const elementCompleted = (pik, elementId) => (r) =>
  r.valueType === 'PROCESS_INSTANCE' &&
  r.intent === 'ELEMENT_COMPLETED' &&
  String(r.value.processInstanceKey) === String(pik) &&
  r.value.elementId === elementId

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`)
}

// A client authenticated with engine client `who`'s credentials (no token cache on disk:
// the credentials live only as long as this run).
function newClient(who) {
  const client = CLIENTS[who]
  return new ZBClient(ADDRESS, {
    useTLS: false,
    oAuth: {
      url: CLIENTS.token_url,
      audience: CLIENTS.audience,
      clientId: client.client_id,
      clientSecret: client.client_secret,
      cacheOnDisk: false,
    },
    loglevel: 'NONE',
    retry: false,
  })
}

// Requires that `call()` fails with gRPC status `code`.
async function expectCode(code, describe, call) {
  let error = null
  try {
    await call()
  } catch (e) {
    error = e
  }
  if (!error) throw new Error(`${describe}: expected status ${code}, but it was accepted`)
  if (error.code !== code) throw new Error(`${describe}: expected status ${code}, got ${error.code}: ${error.message}`)
}
const PERMISSION_DENIED = 7
const NOT_FOUND = 5
const UNAUTHENTICATED = 16

// Runs `body` with a worker for `taskType`, closing the worker afterwards.
async function withWorker(zbc, config, body) {
  const worker = zbc.createWorker({
    loglevel: 'NONE',
    longPoll: 2000,
    pollInterval: 50,
    timeout: 10000,
    ...config,
  })
  try {
    return await body(worker)
  } finally {
    await worker.close(5000).catch(() => {})
  }
}

// Runs `bpmnProcessId` to its result while a worker answers its jobs with `taskHandler`.
const runWorkedBy = (zbc, bpmnProcessId, variables, taskHandler) =>
  withWorker(zbc, { taskType: variables.jobType, taskHandler }, () =>
    zbc.createProcessInstanceWithResult({ bpmnProcessId, variables, requestTimeout: 15000 })
  )

const deploy = (zbc, ...names) =>
  Promise.all(names.map((name) => zbc.deployResource({ processFilename: path.join(BPMN, name) })))

const scenarios = {
  async deploy(zbc) {
    const task = await zbc.deployResource({ processFilename: path.join(BPMN, 'conf-task.bpmn') })
    const error = await zbc.deployResource({ processFilename: path.join(BPMN, 'conf-error.bpmn') })
    assert(task.deployments[0].process.bpmnProcessId === 'conf-task', JSON.stringify(task))
    assert(error.deployments[0].process.bpmnProcessId === 'conf-error', JSON.stringify(error))
    const topology = await zbc.topology()
    assert(topology.partitionsCount === 1 && topology.brokers.length === 1, JSON.stringify(topology))
  },

  async create(zbc) {
    const created = await zbc.createProcessInstance({
      bpmnProcessId: 'conf-task',
      variables: { jobType: jobType('create') },
    })
    assert(BigInt(created.processInstanceKey) > 0n, JSON.stringify(created))
    assert(created.bpmnProcessId === 'conf-task', JSON.stringify(created))
    await zbc.cancelProcessInstance(created.processInstanceKey)
  },

  async 'create-with-result'(zbc) {
    const result = await runWorkedBy(zbc, 'conf-task', { jobType: jobType('result'), n: 21 }, (job) =>
      job.complete({ doubled: job.variables.n * 2 })
    )
    assert(result.variables.doubled === 42, JSON.stringify(result))
  },

  async 'worker-completes-jobs'(zbc) {
    const type = jobType('complete')
    const seen = []
    await withWorker(
      zbc,
      {
        taskType: type,
        taskHandler: (job) => {
          seen.push(job.variables.i)
          return job.complete({ done: true })
        },
      },
      async () => {
        const keys = []
        for (let i = 0; i < 5; i++) {
          const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type, i } })
          keys.push(c.processInstanceKey)
        }
        for (const pik of keys) await waitRecord(`instance ${pik} completed`, instanceCompleted(pik))
      }
    )
    assert(JSON.stringify(seen.sort()) === '[0,1,2,3,4]', JSON.stringify(seen))
  },

  async 'fail-incident-resolve'(zbc) {
    const type = jobType('fail')
    const state = { fail: true, attempts: 0 }
    await withWorker(
      zbc,
      {
        taskType: type,
        taskHandler: (job) => {
          state.attempts++
          if (state.fail) return job.fail({ errorMessage: 'service down', retries: job.retries - 1 })
          return job.complete({ recovered: true })
        },
      },
      async () => {
        const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type } })
        const pik = c.processInstanceKey
        const incident = await waitRecord(
          `incident for ${pik}`,
          (r) => r.valueType === 'INCIDENT' && r.intent === 'CREATED' && String(r.value.processInstanceKey) === pik
        )
        assert(state.attempts === 3, `retries used: ${state.attempts}`)
        state.fail = false
        await zbc.updateJobRetries({ jobKey: String(incident.value.jobKey), retries: 1 })
        await zbc.resolveIncident({ incidentKey: String(incident.key) })
        await waitRecord(`instance ${pik} completed`, instanceCompleted(pik))
      }
    )
    assert(state.attempts === 4, JSON.stringify(state))
  },

  async 'throw-error-boundary'(zbc) {
    const type = jobType('error')
    await withWorker(
      zbc,
      { taskType: type, taskHandler: (job) => job.error('OUT_OF_STOCK', 'none left') },
      async () => {
        const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-error', variables: { jobType: type } })
        await waitRecord(`boundary of ${c.processInstanceKey} taken`, elementCompleted(c.processInstanceKey, 'handled'))
        await waitRecord(`instance ${c.processInstanceKey} completed`, instanceCompleted(c.processInstanceKey))
      }
    )
  },

  async cancel(zbc) {
    const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: jobType('cancel') } })
    await zbc.cancelProcessInstance(c.processInstanceKey)
    await waitRecord(
      `instance ${c.processInstanceKey} terminated`,
      (r) =>
        r.valueType === 'PROCESS_INSTANCE' && r.intent === 'ELEMENT_TERMINATED' && String(r.key) === c.processInstanceKey
    )
    let again = null
    try {
      await zbc.cancelProcessInstance(c.processInstanceKey)
    } catch (e) {
      again = e
    }
    assert(again && again.code === 5, `second cancel answered ${again && again.code} (expected NOT_FOUND)`)
  },

  async 'set-variables'(zbc) {
    const type = jobType('setvars')
    const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type, a: 1 } })
    const answer = await zbc.setVariables({
      elementInstanceKey: c.processInstanceKey,
      variables: { a: 2, b: 'x' },
      local: false,
    })
    assert(BigInt(answer.key) > 0n, JSON.stringify(answer))
    let seen = null
    await withWorker(
      zbc,
      {
        taskType: type,
        taskHandler: (job) => {
          seen = job.variables
          return job.complete()
        },
      },
      () => waitRecord(`instance ${c.processInstanceKey} completed`, instanceCompleted(c.processInstanceKey))
    )
    assert(seen && seen.a === 2 && seen.b === 'x', JSON.stringify(seen))
  },

  // Two tenants, each with its own client: neither sees nor touches the other's work.
  async 'tenant-isolation'(zbc, ctx) {
    const [tenantA, tenantB] = [CLIENTS.a.tenant, CLIENTS.b.tenant]
    const zbcB = ctx.b
    const type = jobType('tenant')
    const file = path.join(BPMN, 'conf-task.bpmn')
    // A names its own tenant explicitly; B leaves it empty (its token's tenant).
    const da = await zbc.deployResource({ processFilename: file, tenantId: tenantA })
    const db = await zbcB.deployResource({ processFilename: file })
    assert(da.tenantId === tenantA && db.tenantId === tenantB, `${da.tenantId} ${db.tenantId}`)
    const a = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type } })
    const b = await zbcB.createProcessInstance({
      bpmnProcessId: 'conf-task',
      variables: { jobType: type },
      tenantId: tenantB,
    })
    const handed = []
    await withWorker(
      zbc,
      {
        taskType: type,
        tenantId: tenantA,
        taskHandler: (job) => {
          handed.push(job.tenantId)
          return job.complete()
        },
      },
      () => waitRecord(`tenant A instance completed`, instanceCompleted(a.processInstanceKey))
    )
    assert(handed.length === 1 && handed[0] === tenantA, `tenant A's worker was handed ${handed}`)
    // Tenant A's worker asks again, for its tenant and for its token's: B's job is there but
    // is not handed out.
    for (const tenantIds of [[tenantA], undefined]) {
      const moreForA = await zbc.activateJobs({
        type,
        worker: 'a',
        maxJobsToActivate: 10,
        timeout: 10000,
        requestTimeout: -1,
        tenantIds,
      })
      assert(moreForA.length === 0, `tenant A's worker received ${moreForA.map((j) => j.tenantId)}`)
    }
    // Tenant A's client naming tenant B is refused.
    await expectCode(PERMISSION_DENIED, 'A deploying for B', () =>
      zbc.deployResource({ processFilename: file, tenantId: tenantB })
    )
    await expectCode(PERMISSION_DENIED, 'A creating an instance for B', () =>
      zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type }, tenantId: tenantB })
    )
    await expectCode(PERMISSION_DENIED, 'A publishing a message for B', () =>
      zbc.publishMessage({ name: 'conf-paid', correlationKey: 'x', variables: {}, tenantId: tenantB })
    )
    // Tenant B's worker gets exactly its job.
    const forB = await zbcB.activateJobs({
      type,
      worker: 'b',
      maxJobsToActivate: 10,
      timeout: 10000,
      requestTimeout: -1,
    })
    assert(
      forB.length === 1 && forB[0].processInstanceKey === b.processInstanceKey && forB[0].tenantId === tenantB,
      JSON.stringify(forB)
    )
    // Tenant B's keys do not exist for tenant A.
    await expectCode(NOT_FOUND, "A completing B's job", () => zbc.completeJob({ jobKey: forB[0].key, variables: {} }))
    await expectCode(NOT_FOUND, "A failing B's job", () =>
      zbc.failJob({ jobKey: forB[0].key, errorMessage: 'not yours', retries: 0 })
    )
    await expectCode(NOT_FOUND, "A cancelling B's instance", () => zbc.cancelProcessInstance(b.processInstanceKey))
    const touched = records().find(
      (r) =>
        r.valueType === 'JOB' &&
        (r.intent === 'COMPLETED' || r.intent === 'FAILED') &&
        String(r.value.processInstanceKey) === String(b.processInstanceKey)
    )
    assert(!touched, `tenant A's client changed tenant B's job: ${touched && touched.intent}`)
    // B completes its own job, and its instance ends.
    await zbcB.completeJob({ jobKey: forB[0].key, variables: {} })
    await waitRecord('tenant B instance completed', instanceCompleted(b.processInstanceKey))
  },

  // A client without a token is refused: UNAUTHENTICATED, not served as some tenant.
  async unauthenticated() {
    const anonymous = new ZBClient(ADDRESS, { useTLS: false, oAuth: undefined, loglevel: 'NONE', retry: false })
    try {
      await expectCode(UNAUTHENTICATED, 'Topology without a token', () => anonymous.topology())
      await expectCode(UNAUTHENTICATED, 'deploying without a token', () =>
        anonymous.deployResource({ processFilename: path.join(BPMN, 'conf-task.bpmn') })
      )
    } finally {
      await anonymous.close(5000).catch(() => {})
    }
  },

  async 'message-correlation'(zbc) {
    await deploy(zbc, 'conf-message.bpmn')
    const order = jobType('order')
    const c = await zbc.createProcessInstance({ bpmnProcessId: 'conf-message', variables: { orderId: order } })
    await zbc.publishMessage({ name: 'conf-paid', correlationKey: `${order}-other`, timeToLive: 0, variables: {} })
    await zbc.publishMessage({ name: 'conf-paid', correlationKey: order, timeToLive: 0, variables: { amount: 7 } })
    await waitRecord(`instance ${c.processInstanceKey} completed`, instanceCompleted(c.processInstanceKey))
    const amount = await waitRecord(
      'message variable',
      (r) =>
        r.valueType === 'VARIABLE' &&
        String(r.value.processInstanceKey) === String(c.processInstanceKey) &&
        r.value.name === 'amount'
    )
    assert(amount.value.value === '7', JSON.stringify(amount))
    // Buffered first, correlated when the instance subscribes.
    const early = jobType('early')
    await zbc.publishMessage({ name: 'conf-paid', correlationKey: early, timeToLive: 60000, variables: {} })
    const late = await zbc.createProcessInstance({ bpmnProcessId: 'conf-message', variables: { orderId: early } })
    await waitRecord(`instance ${late.processInstanceKey} completed`, instanceCompleted(late.processInstanceKey))
  },

  async 'timer-boundary'(zbc) {
    await deploy(zbc, 'conf-timer.bpmn')
    const c = await zbc.createProcessInstance({
      bpmnProcessId: 'conf-timer',
      variables: { jobType: jobType('timer'), timeout: 'PT0.5S' },
    })
    await waitRecord(`${c.processInstanceKey} took the timeout path`, elementCompleted(c.processInstanceKey, 'timed-out'))
    await waitRecord(`instance ${c.processInstanceKey} completed`, instanceCompleted(c.processInstanceKey))
  },

  async 'call-activity'(zbc) {
    await deploy(zbc, 'conf-task.bpmn', 'conf-call.bpmn')
    const result = await runWorkedBy(zbc, 'conf-call', { jobType: jobType('call'), n: 5 }, (job) =>
      job.complete({ doubled: job.variables.n * 2 })
    )
    assert(result.variables.doubled === 10, JSON.stringify(result))
    const child = await waitRecord(
      'called instance',
      (r) =>
        r.valueType === 'PROCESS_INSTANCE' &&
        r.value.bpmnElementType === 'PROCESS' &&
        String(r.value.parentProcessInstanceKey) === String(result.processInstanceKey)
    )
    assert(child.value.bpmnProcessId === 'conf-task', JSON.stringify(child))
  },

  async 'multi-instance'(zbc) {
    await deploy(zbc, 'conf-multi.bpmn')
    const result = await runWorkedBy(zbc, 'conf-multi', { jobType: jobType('multi'), items: [3, 1, 2] }, (job) =>
      job.complete({ doubled: job.variables.item * 2 })
    )
    assert(JSON.stringify(result.variables.results) === '[6,2,4]', JSON.stringify(result.variables))
  },
}

async function main() {
  const ctx = { a: newClient('a'), b: newClient('b') }
  const zbc = ctx.a
  for (const [name, scenario] of Object.entries(scenarios)) {
    try {
      let timer
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out after 30 s')), 30000)
      })
      await Promise.race([scenario(zbc, ctx), timeout]).finally(() => clearTimeout(timer))
      console.log(`PASS node/${name}`)
    } catch (e) {
      console.log(`FAIL node/${name}: ${(e && e.message) || e}`.split('\n')[0])
      console.error(e)
    }
  }
  await Promise.all([ctx.a.close(5000), ctx.b.close(5000)]).catch(() => {})
  process.exit(0)
}

main()
