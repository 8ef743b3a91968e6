// Conformance scenarios driven by zeebe-node against a running astraflow-engine.
//
// Usage: node scenarios.js ADDRESS RECORDS_FILE BPMN_DIR
//
// Prints one line per scenario, `PASS node/<name>` or `FAIL node/<name>: <why>`; run.sh
// counts them. Everything goes through zeebe-node's ZBClient and its workers over plain
// gRPC (no TLS, no OAuth). Incident keys are not part of the gateway API, so they are read
// from the engine's exported record stream (RECORDS_FILE), as an operator tool would.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { ZBClient } = require('zeebe-node')

const [ADDRESS, RECORDS, BPMN] = process.argv.slice(2)
const POLL_INTERVAL_MS = 50
const POLL_ATTEMPTS = 300 // 15 s at most for any awaited condition

const jobType = (name) => `node-${name}-${crypto.randomBytes(4).toString('hex')}`
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function records() {
  return fs
    .readFileSync(RECORDS, 'utf8')
    .split('\n')
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

function newClient() {
  return new ZBClient(ADDRESS, {
    useTLS: false,
    oAuth: undefined,
    loglevel: 'NONE',
    retry: false,
  })
}

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

  async 'tenant-isolation'(zbc) {
    const type = jobType('tenant')
    const file = path.join(BPMN, 'conf-task.bpmn')
    const da = await zbc.deployResource({ processFilename: file, tenantId: 'node-tenant-a' })
    const db = await zbc.deployResource({ processFilename: file, tenantId: 'node-tenant-b' })
    assert(da.tenantId === 'node-tenant-a' && db.tenantId === 'node-tenant-b', `${da.tenantId} ${db.tenantId}`)
    const a = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type }, tenantId: 'node-tenant-a' })
    const b = await zbc.createProcessInstance({ bpmnProcessId: 'conf-task', variables: { jobType: type }, tenantId: 'node-tenant-b' })
    const handed = []
    await withWorker(
      zbc,
      {
        taskType: type,
        tenantId: 'node-tenant-a',
        taskHandler: (job) => {
          handed.push(job.tenantId)
          return job.complete()
        },
      },
      () => waitRecord(`tenant A instance completed`, instanceCompleted(a.processInstanceKey))
    )
    assert(handed.every((t) => t === 'node-tenant-a'), `tenant A's worker was handed ${handed}`)
    const moreForA = await zbc.activateJobs({
      type,
      worker: 'a',
      maxJobsToActivate: 10,
      timeout: 10000,
      requestTimeout: -1,
      tenantIds: ['node-tenant-a'],
    })
    assert(moreForA.length === 0, `tenant A's worker received ${moreForA.map((j) => j.tenantId)}`)
    const forB = await zbc.activateJobs({
      type,
      worker: 'b',
      maxJobsToActivate: 10,
      timeout: 10000,
      requestTimeout: -1,
      tenantIds: ['node-tenant-b'],
    })
    assert(
      forB.length === 1 && forB[0].processInstanceKey === b.processInstanceKey && forB[0].tenantId === 'node-tenant-b',
      JSON.stringify(forB)
    )
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
  const zbc = newClient()
  for (const [name, scenario] of Object.entries(scenarios)) {
    try {
      let timer
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out after 30 s')), 30000)
      })
      await Promise.race([scenario(zbc), timeout]).finally(() => clearTimeout(timer))
      console.log(`PASS node/${name}`)
    } catch (e) {
      console.log(`FAIL node/${name}: ${(e && e.message) || e}`.split('\n')[0])
      console.error(e)
    }
  }
  await zbc.close(5000).catch(() => {})
  process.exit(0)
}

main()
