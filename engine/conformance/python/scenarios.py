"""Conformance scenarios driven by pyzeebe against a running astraflow-engine.

Usage: python scenarios.py ADDRESS RECORDS_FILE BPMN_DIR CLIENTS_FILE

CLIENTS_FILE is JSON: `{"token_url", "audience", "a": {"tenant", "client_id",
"client_secret"}, "b": {...}}`, two engine clients of the ASTRAflow server, each granting
one tenant. Every gRPC call is authenticated as a real worker's: pyzeebe's OAuth 2.0 client
credentials channel fetches access tokens from `token_url` and sends them as bearer tokens.
Client A runs the scenarios; client B is tenant A's neighbour in the tenant-isolation
scenario; a third channel without credentials must be refused.

Prints one line per scenario, `PASS python/<name>` or `FAIL python/<name>: <why>`, and
exits 0 (run.sh counts the lines). Everything goes through pyzeebe: its client and worker
where pyzeebe offers the call, and pyzeebe's bundled gateway stubs on the same channel
for the calls its high-level API lacks (SetVariables, UpdateJobRetries, ResolveIncident,
ActivateJobs and CompleteJob for the tenant checks). Incident keys are not part of the
gateway API, so they are read from the engine's exported record stream (RECORDS_FILE), as an
operator tool would.
"""

import asyncio
import json
import os
import sys
import traceback
import uuid

# The server's token endpoint is plain HTTP on loopback; oauthlib refuses non-HTTPS token
# URLs unless told that this is intended (a worker using an http:// token URL needs the same).
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

import grpc  # noqa: E402
from pyzeebe import (  # noqa: E402
    ZeebeClient,
    ZeebeWorker,
    create_insecure_channel,
    create_oauth2_client_credentials_channel,
)
from pyzeebe.errors import BusinessError, ProcessInstanceNotFoundError  # noqa: E402
from pyzeebe.proto import gateway_pb2 as pb  # noqa: E402
from pyzeebe.proto.gateway_pb2_grpc import GatewayStub  # noqa: E402

ADDRESS, RECORDS, BPMN, CLIENTS_FILE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
with open(CLIENTS_FILE, encoding="utf-8") as f:
    CLIENTS = json.load(f)
POLL_INTERVAL = 0.05
POLL_ATTEMPTS = 300  # 15 s at most for any awaited condition


def oauth_channel(who):
    """A channel authenticated with engine client `who`'s credentials, as a worker's.

    pyzeebe's OAuth channel composes its token plugin with TLS credentials by default, and
    gRPC sends call credentials only over a secure transport. Local credentials are gRPC's
    way to say "loopback counts as secure": plaintext HTTP/2 to 127.0.0.1, tokens attached.
    """
    client = CLIENTS[who]
    return create_oauth2_client_credentials_channel(
        grpc_address=ADDRESS,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        authorization_server=CLIENTS["token_url"],
        audience=CLIENTS["audience"],
        channel_credentials=grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        channel_options=None,
        leeway=60,
    )


def grpc_code(error):
    """The gRPC status code of an error raised by grpc or by pyzeebe (which wraps it)."""
    if isinstance(error, grpc.aio.AioRpcError):
        return error.code()
    inner = getattr(error, "grpc_error", None)
    return inner.code() if inner is not None else None


async def expect_code(code, describe, call):
    """Awaits `call()` and requires that it fails with status `code`."""
    try:
        await call()
    except Exception as e:  # noqa: BLE001 - grpc's and pyzeebe's errors alike
        assert grpc_code(e) == code, f"{describe}: expected {code.name}, got {e!r}"
    else:
        raise AssertionError(f"{describe}: expected {code.name}, but it was accepted")


async def activated_jobs(stub, **request):
    """The jobs one ActivateJobs call hands out (`requestTimeout=-1`: answers at once)."""
    stream = stub.ActivateJobs(
        pb.ActivateJobsRequest(timeout=10_000, maxJobsToActivate=10, requestTimeout=-1, **request)
    )
    return [job async for response in stream for job in response.jobs]


def job_type(name):
    return f"py-{name}-{uuid.uuid4().hex[:8]}"


def records():
    # The engine appends to the file while we read it: a last line without its newline is
    # still being written, and is read on the next poll.
    with open(RECORDS, encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break
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
    """Two tenants, each with its own client: neither sees nor touches the other's work."""
    tenant_a, tenant_b = CLIENTS["a"]["tenant"], CLIENTS["b"]["tenant"]
    jt = job_type("tenant")
    # A names its own tenant explicitly; B leaves it empty (its token's tenant).
    a = await ctx.client.deploy_resource(f"{BPMN}/conf-task.bpmn", tenant_id=tenant_a)
    b = await ctx.client_b.deploy_resource(f"{BPMN}/conf-task.bpmn")
    assert a.tenant_id == tenant_a and b.tenant_id == tenant_b, (a.tenant_id, b.tenant_id)
    pa = await ctx.client.run_process("conf-task", {"jobType": jt, "owner": "a"})
    pb_ = await ctx.client_b.run_process(
        "conf-task", {"jobType": jt, "owner": "b"}, tenant_id=tenant_b
    )
    handed = []
    worker = ZeebeWorker(ctx.channel, name="conformance-py-a", tenant_ids=[tenant_a])

    @worker.task(task_type=jt)
    async def work(**variables):
        handed.append(variables.get("owner"))
        return {}

    running = asyncio.create_task(worker.work())
    try:
        await wait_record("tenant A instance completed", instance_completed(pa.process_instance_key))
    finally:
        await worker.stop()
        running.cancel()
    assert handed == ["a"], f"tenant A's worker was handed the jobs of {handed}"

    stub_a, stub_b = GatewayStub(ctx.channel), GatewayStub(ctx.channel_b)
    # Tenant A's worker asks again, for its tenant and for its token's: B's job is there
    # but is not handed out.
    for tenants in ([tenant_a], []):
        got = await activated_jobs(stub_a, type=jt, worker="a", tenantIds=tenants)
        assert not got, f"tenant A's worker received {[j.tenantId for j in got]}"
    # Tenant A's client naming tenant B is refused, whatever the call.
    denied = grpc.StatusCode.PERMISSION_DENIED
    await expect_code(
        denied, "A activating B's jobs",
        lambda: activated_jobs(stub_a, type=jt, worker="a", tenantIds=[tenant_b]),
    )
    await expect_code(
        denied, "A deploying for B",
        lambda: ctx.client.deploy_resource(f"{BPMN}/conf-task.bpmn", tenant_id=tenant_b),
    )
    await expect_code(
        denied, "A creating an instance for B",
        lambda: ctx.client.run_process("conf-task", {"jobType": jt}, tenant_id=tenant_b),
    )
    await expect_code(
        denied, "A publishing a message for B",
        lambda: ctx.client.publish_message("conf-paid", "x", tenant_id=tenant_b),
    )
    # Tenant B's worker gets exactly its job.
    jobs_b = await activated_jobs(stub_b, type=jt, worker="b")
    assert [j.processInstanceKey for j in jobs_b] == [pb_.process_instance_key], jobs_b
    assert all(j.tenantId == tenant_b for j in jobs_b), [j.tenantId for j in jobs_b]
    # Tenant B's keys do not exist for tenant A.
    not_found = grpc.StatusCode.NOT_FOUND
    await expect_code(
        not_found, "A completing B's job",
        lambda: stub_a.CompleteJob(pb.CompleteJobRequest(jobKey=jobs_b[0].key, variables="{}")),
    )
    await expect_code(
        not_found, "A failing B's job",
        lambda: stub_a.FailJob(pb.FailJobRequest(jobKey=jobs_b[0].key, retries=0)),
    )
    try:
        await ctx.client.cancel_process_instance(pb_.process_instance_key)
    except ProcessInstanceNotFoundError:
        pass
    else:
        raise AssertionError("A cancelled B's instance")
    for record in records():
        if (
            record["valueType"] == "JOB"
            and record["intent"] in ("COMPLETED", "FAILED")
            and record["value"].get("processInstanceKey") == pb_.process_instance_key
        ):
            raise AssertionError(f"tenant A's client changed tenant B's job: {record['intent']}")
    # B completes its own job, and its instance ends.
    await stub_b.CompleteJob(pb.CompleteJobRequest(jobKey=jobs_b[0].key, variables="{}"))
    await wait_record("tenant B instance completed", instance_completed(pb_.process_instance_key))


async def scenario_unauthenticated(ctx):
    """A client without a token is refused: UNAUTHENTICATED, not served as some tenant."""
    channel = create_insecure_channel(grpc_address=ADDRESS)
    try:
        anonymous = ZeebeClient(channel)
        unauthenticated = grpc.StatusCode.UNAUTHENTICATED
        await expect_code(unauthenticated, "Topology without a token", anonymous.topology)
        await expect_code(
            unauthenticated, "deploying without a token",
            lambda: anonymous.deploy_resource(f"{BPMN}/conf-task.bpmn"),
        )
    finally:
        await channel.close()


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
    ("unauthenticated", scenario_unauthenticated),
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
    ctx.channel = oauth_channel("a")
    ctx.client = ZeebeClient(ctx.channel)
    ctx.channel_b = oauth_channel("b")
    ctx.client_b = ZeebeClient(ctx.channel_b)
    for name, scenario in SCENARIOS:
        try:
            await asyncio.wait_for(scenario(ctx), timeout=30)
            print(f"PASS python/{name}", flush=True)
        except BaseException as e:  # noqa: BLE001 - report every failure and go on
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            print(f"FAIL python/{name}: {detail}", flush=True)
            traceback.print_exc(file=sys.stderr)
    await ctx.channel.close()
    await ctx.channel_b.close()


if __name__ == "__main__":
    asyncio.run(main())
