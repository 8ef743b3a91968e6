"""Conformance scenarios driven by pyzeebe against a running astraflow-engine.

Usage: python scenarios.py ADDRESS RECORDS_FILE BPMN_DIR

Prints one line per scenario, `PASS python/<name>` or `FAIL python/<name>: <why>`, and
exits 0 (run.sh counts the lines). Everything goes through pyzeebe: its client and worker
where pyzeebe offers the call, and pyzeebe's bundled gateway stubs on the same channel
for the calls its high-level API lacks (SetVariables, UpdateJobRetries, ResolveIncident,
ActivateJobs for the tenant check). Incident keys are not part of the gateway API, so they
are read from the engine's exported record stream (RECORDS_FILE), as an operator tool would.
"""

import asyncio
import json
import sys
import traceback
import uuid

from pyzeebe import ZeebeClient, ZeebeWorker, create_insecure_channel
from pyzeebe.errors import BusinessError, ProcessInstanceNotFoundError
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub

ADDRESS, RECORDS, BPMN = sys.argv[1], sys.argv[2], sys.argv[3]
POLL_INTERVAL = 0.05
POLL_ATTEMPTS = 300  # 15 s at most for any awaited condition


def job_type(name):
    return f"py-{name}-{uuid.uuid4().hex[:8]}"


def records():
    with open(RECORDS, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


async def wait_record(describe, predicate):
    """The first exported record matching `predicate`, polling a bounded number of times."""
    for _ in range(POLL_ATTEMPTS):
        for record in records():
            if predicate(record):
                return record
        await asyncio.sleep(POLL_INTERVAL)
    raise AssertionError(f"no record: {describe}")


def instance_completed(pik):
    return lambda r: (
        r["valueType"] == "PROCESS_INSTANCE"
        and r["intent"] == "ELEMENT_COMPLETED"
        and r["key"] == pik
    )


def element_completed(pik, element_id):
    return lambda r: (
        r["valueType"] == "PROCESS_INSTANCE"
        and r["intent"] == "ELEMENT_COMPLETED"
        and r["value"].get("processInstanceKey") == pik
        and r["value"].get("elementId") == element_id
    )


async def run_with_result_worked_by(ctx, process_id, variables, handler):
    """Runs `process_id` to its result while a worker answers its jobs with `handler`."""
    jt = variables["jobType"]
    worker = ZeebeWorker(ctx.channel, name="conformance-py")
    worker.task(task_type=jt)(handler)
    running = asyncio.create_task(worker.work())
    try:
        return await ctx.client.run_process_with_result(
            process_id, variables=variables, timeout=15_000
        )
    finally:
        await worker.stop()
        running.cancel()


async def scenario_deploy(ctx):
    deployed = await ctx.client.deploy_resource(
        f"{BPMN}/conf-task.bpmn", f"{BPMN}/conf-error.bpmn"
    )
    ids = sorted(p.bpmn_process_id for p in deployed.deployments)
    assert ids == ["conf-error", "conf-task"], ids
    assert deployed.key > 0
    topology = await ctx.client.topology()
    assert topology.partitions_count == 1 and topology.brokers, topology


async def scenario_create(ctx):
    created = await ctx.client.run_process(
        "conf-task", variables={"jobType": job_type("create")}
    )
    assert created.process_instance_key > 0
    assert created.bpmn_process_id == "conf-task" and created.version >= 1
    await ctx.client.cancel_process_instance(created.process_instance_key)


async def scenario_create_with_result(ctx):
    async def work(**variables):
        return {"doubled": variables["n"] * 2}

    result = await run_with_result_worked_by(
        ctx, "conf-task", {"jobType": job_type("result"), "n": 21}, work
    )
    assert result.variables.get("doubled") == 42, result.variables


async def scenario_worker_completes(ctx):
    jt = job_type("complete")
    seen = []
    worker = ZeebeWorker(ctx.channel, name="conformance-py")

    @worker.task(task_type=jt)
    async def work(**variables):
        seen.append(variables.get("i"))
        return {"done": True}

    running = asyncio.create_task(worker.work())
    try:
        keys = []
        for i in range(5):
            created = await ctx.client.run_process(
                "conf-task", variables={"jobType": jt, "i": i}
            )
            keys.append(created.process_instance_key)
        for pik in keys:
            await wait_record(f"instance {pik} completed", instance_completed(pik))
    finally:
        await worker.stop()
        running.cancel()
    assert sorted(seen) == [0, 1, 2, 3, 4], seen


async def scenario_fail_incident_resolve(ctx):
    jt = job_type("fail")
    state = {"fail": True, "attempts": 0}
    worker = ZeebeWorker(ctx.channel, name="conformance-py")

    @worker.task(task_type=jt)
    async def work(**variables):
        state["attempts"] += 1
        if state["fail"]:
            raise RuntimeError("service down")
        return {"recovered": True}

    running = asyncio.create_task(worker.work())
    try:
        created = await ctx.client.run_process("conf-task", variables={"jobType": jt})
        pik = created.process_instance_key
        incident = await wait_record(
            f"incident for {pik}",
            lambda r: r["valueType"] == "INCIDENT"
            and r["intent"] == "CREATED"
            and r["value"].get("processInstanceKey") == pik,
        )
        assert state["attempts"] == 3, f"retries used: {state['attempts']}"
        state["fail"] = False
        stub = GatewayStub(ctx.channel)
        await stub.UpdateJobRetries(
            pb.UpdateJobRetriesRequest(jobKey=incident["value"]["jobKey"], retries=1)
        )
        await stub.ResolveIncident(pb.ResolveIncidentRequest(incidentKey=incident["key"]))
        await wait_record(f"instance {pik} completed", instance_completed(pik))
    finally:
        await worker.stop()
        running.cancel()
    assert state["attempts"] == 4, state


async def scenario_throw_error(ctx):
    jt = job_type("error")
    worker = ZeebeWorker(ctx.channel, name="conformance-py")

    @worker.task(task_type=jt)
    async def work(**variables):
        raise BusinessError("OUT_OF_STOCK")

    running = asyncio.create_task(worker.work())
    try:
        created = await ctx.client.run_process("conf-error", variables={"jobType": jt})
        pik = created.process_instance_key
        await wait_record(f"boundary of {pik} taken", element_completed(pik, "handled"))
        await wait_record(f"instance {pik} completed", instance_completed(pik))
    finally:
        await worker.stop()
        running.cancel()


async def scenario_cancel(ctx):
    created = await ctx.client.run_process(
        "conf-task", variables={"jobType": job_type("cancel")}
    )
    pik = created.process_instance_key
    await ctx.client.cancel_process_instance(pik)
    await wait_record(
        f"instance {pik} terminated",
        lambda r: r["valueType"] == "PROCESS_INSTANCE"
        and r["intent"] == "ELEMENT_TERMINATED"
        and r["key"] == pik,
    )
    try:
        await ctx.client.cancel_process_instance(pik)
    except ProcessInstanceNotFoundError:
        pass
    else:
        raise AssertionError("cancelling twice was accepted")


async def scenario_set_variables(ctx):
    jt = job_type("setvars")
    created = await ctx.client.run_process("conf-task", variables={"jobType": jt, "a": 1})
    pik = created.process_instance_key
    stub = GatewayStub(ctx.channel)
    answer = await stub.SetVariables(
        pb.SetVariablesRequest(
            elementInstanceKey=pik, variables=json.dumps({"a": 2, "b": "x"}), local=False
        )
    )
    assert answer.key > 0
    seen = {}
    worker = ZeebeWorker(ctx.channel, name="conformance-py")

    @worker.task(task_type=jt)
    async def work(**variables):
        seen.update(variables)
        return {}

    running = asyncio.create_task(worker.work())
    try:
        await wait_record(f"instance {pik} completed", instance_completed(pik))
    finally:
        await worker.stop()
        running.cancel()
    assert seen.get("a") == 2 and seen.get("b") == "x", seen


async def scenario_tenant_isolation(ctx):
    jt = job_type("tenant")
    a = await ctx.client.deploy_resource(f"{BPMN}/conf-task.bpmn", tenant_id="py-tenant-a")
    b = await ctx.client.deploy_resource(f"{BPMN}/conf-task.bpmn", tenant_id="py-tenant-b")
    assert a.tenant_id == "py-tenant-a" and b.tenant_id == "py-tenant-b"
    pa = await ctx.client.run_process("conf-task", {"jobType": jt}, tenant_id="py-tenant-a")
    pb_ = await ctx.client.run_process("conf-task", {"jobType": jt}, tenant_id="py-tenant-b")
    got = []
    worker = ZeebeWorker(ctx.channel, name="conformance-py-a", tenant_ids=["py-tenant-a"])

    @worker.task(task_type=jt)
    async def work(**variables):
        return {}

    # Record which tenant's jobs worker A was handed by watching its completions.
    running = asyncio.create_task(worker.work())
    try:
        await wait_record("tenant A instance completed", instance_completed(pa.process_instance_key))
    finally:
        await worker.stop()
        running.cancel()
    stub = GatewayStub(ctx.channel)
    # Tenant A's worker asks again: B's job is there but must not be handed out.
    stream = stub.ActivateJobs(
        pb.ActivateJobsRequest(
            type=jt, worker="a", timeout=10_000, maxJobsToActivate=10,
            requestTimeout=-1, tenantIds=["py-tenant-a"],
        )
    )
    async for response in stream:
        got.extend(response.jobs)
    assert not got, f"tenant A's worker received {[j.tenantId for j in got]}"
    stream = stub.ActivateJobs(
        pb.ActivateJobsRequest(
            type=jt, worker="b", timeout=10_000, maxJobsToActivate=10,
            requestTimeout=-1, tenantIds=["py-tenant-b"],
        )
    )
    jobs_b = [j async for r in stream for j in r.jobs]
    assert [j.processInstanceKey for j in jobs_b] == [pb_.process_instance_key], jobs_b
    assert all(j.tenantId == "py-tenant-b" for j in jobs_b)
    for record in records():
        if (
            record["valueType"] == "JOB"
            and record["intent"] == "COMPLETED"
            and record["value"].get("processInstanceKey") == pb_.process_instance_key
        ):
            raise AssertionError("tenant A's worker completed tenant B's job")


async def scenario_stream_activated_jobs(ctx):
    """Jobs are pushed over StreamActivatedJobs, the call pyzeebe's streaming worker makes."""
    jt = job_type("stream")
    stub = GatewayStub(ctx.channel)
    call = stub.StreamActivatedJobs(
        pb.StreamActivatedJobsRequest(type=jt, worker="streamer", timeout=10_000)
    )
    try:
        created = await ctx.client.run_process("conf-task", variables={"jobType": jt})
        job = await call.read()
        assert job.processInstanceKey == created.process_instance_key, job
        assert job.worker == "streamer" and job.type == jt, job
        await stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables="{}"))
        await wait_record(
            "streamed instance completed", instance_completed(created.process_instance_key)
        )
    finally:
        call.cancel()


async def deploy_files(ctx, *names):
    await ctx.client.deploy_resource(*[f"{BPMN}/{name}" for name in names])


def variable_set(pik, name):
    return lambda r: (
        r["valueType"] == "VARIABLE"
        and r["value"].get("processInstanceKey") == pik
        and r["value"].get("name") == name
    )


async def scenario_message_correlation(ctx):
    await deploy_files(ctx, "conf-message.bpmn")
    # Correlated to a waiting instance by name and correlation key.
    order = f"py-{uuid.uuid4().hex[:8]}"
    created = await ctx.client.run_process("conf-message", variables={"orderId": order})
    pik = created.process_instance_key
    await wait_record(
        f"subscription of {pik} opened",
        lambda r: r["valueType"] == "PROCESS_MESSAGE_SUBSCRIPTION"
        and r["intent"] == "CREATED"
        and r["value"].get("processInstanceKey") == pik,
    )
    await ctx.client.publish_message(
        "conf-paid", f"{order}-other", time_to_live_in_milliseconds=0
    )
    await ctx.client.publish_message(
        "conf-paid", order, variables={"amount": 42}, time_to_live_in_milliseconds=0
    )
    await wait_record(f"instance {pik} completed", instance_completed(pik))
    amount = await wait_record("message variable", variable_set(pik, "amount"))
    assert amount["value"]["value"] == "42", amount
    # Buffered with a time to live: correlated when the subscription opens later.
    early = f"py-{uuid.uuid4().hex[:8]}"
    await ctx.client.publish_message(
        "conf-paid", early, variables={"early": True}, time_to_live_in_milliseconds=60_000,
        message_id=early,
    )
    try:
        await ctx.client.publish_message(
            "conf-paid", early, time_to_live_in_milliseconds=60_000, message_id=early
        )
    except Exception as e:  # noqa: BLE001 - pyzeebe maps ALREADY_EXISTS to its own error
        assert "already" in str(e).lower() or "exists" in str(type(e)).lower(), repr(e)
    else:
        raise AssertionError("a duplicate message id was accepted")
    late = await ctx.client.run_process("conf-message", variables={"orderId": early})
    await wait_record(
        f"instance {late.process_instance_key} completed",
        instance_completed(late.process_instance_key),
    )


async def scenario_timer_boundary(ctx):
    await deploy_files(ctx, "conf-timer.bpmn")
    # Nobody works the job: the timer boundary event interrupts the task.
    created = await ctx.client.run_process(
        "conf-timer", variables={"jobType": job_type("timer"), "timeout": "PT0.5S"}
    )
    pik = created.process_instance_key
    await wait_record(f"timer of {pik} triggered", lambda r: r["valueType"] == "TIMER"
                      and r["intent"] == "TRIGGERED"
                      and r["value"].get("processInstanceKey") == pik)
    await wait_record(f"{pik} took the timeout path", element_completed(pik, "timed-out"))
    await wait_record(f"instance {pik} completed", instance_completed(pik))


async def scenario_call_activity(ctx):
    await deploy_files(ctx, "conf-task.bpmn", "conf-call.bpmn")

    async def work(**variables):
        return {"doubled": variables["n"] * 2}

    result = await run_with_result_worked_by(
        ctx, "conf-call", {"jobType": job_type("call"), "n": 4}, work
    )
    assert result.variables.get("doubled") == 8, result.variables
    parent = result.process_instance_key
    child = await wait_record(
        "called instance",
        lambda r: r["valueType"] == "PROCESS_INSTANCE"
        and r["value"].get("bpmnElementType") == "PROCESS"
        and r["value"].get("parentProcessInstanceKey") == parent,
    )
    assert child["value"]["bpmnProcessId"] == "conf-task", child


async def scenario_multi_instance(ctx):
    await deploy_files(ctx, "conf-multi.bpmn")

    async def work(**variables):
        return {"doubled": variables["item"] * 2}

    result = await run_with_result_worked_by(
        ctx, "conf-multi", {"jobType": job_type("multi"), "items": [1, 2, 3]}, work
    )
    assert result.variables.get("results") == [2, 4, 6], result.variables
    body = await wait_record(
        "multi-instance body",
        lambda r: r["valueType"] == "PROCESS_INSTANCE"
        and r["value"].get("processInstanceKey") == result.process_instance_key
        and r["value"].get("bpmnElementType") == "MULTI_INSTANCE_BODY",
    )
    assert body["value"]["elementId"] == "work", body


SCENARIOS = [
    ("deploy", scenario_deploy),
    ("create", scenario_create),
    ("create-with-result", scenario_create_with_result),
    ("worker-completes-jobs", scenario_worker_completes),
    ("fail-incident-resolve", scenario_fail_incident_resolve),
    ("throw-error-boundary", scenario_throw_error),
    ("cancel", scenario_cancel),
    ("set-variables", scenario_set_variables),
    ("tenant-isolation", scenario_tenant_isolation),
    ("stream-activated-jobs", scenario_stream_activated_jobs),
    ("message-correlation", scenario_message_correlation),
    ("timer-boundary", scenario_timer_boundary),
    ("call-activity", scenario_call_activity),
    ("multi-instance", scenario_multi_instance),
]


class Ctx:
    pass


async def main():
    ctx = Ctx()
    ctx.channel = create_insecure_channel(grpc_address=ADDRESS)
    ctx.client = ZeebeClient(ctx.channel)
    for name, scenario in SCENARIOS:
        try:
            await asyncio.wait_for(scenario(ctx), timeout=30)
            print(f"PASS python/{name}", flush=True)
        except BaseException as e:  # noqa: BLE001 - report every failure and go on
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            print(f"FAIL python/{name}: {detail}", flush=True)
            traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
