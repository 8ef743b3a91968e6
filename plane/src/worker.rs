//! The job worker: takes the tenant's connector jobs from the gateway, runs them, and reports
//! each back exactly once (complete, fail, or throw a BPMN error).
//!
//! Jobs arrive two ways at once. `StreamActivatedJobs` pushes jobs as they become ready, and
//! a long-polling `ActivateJobs` loop picks up jobs that were waiting before the stream
//! opened (and serves alone where the gateway has no streams). Both take a permit of the
//! connector's concurrency limit before a job is taken, so a busy plane stops asking rather
//! than piling up jobs it cannot run before their timeout.
//!
//! A job that runs long has its timeout extended (`UpdateJobTimeout`) every half timeout, so
//! a slow target does not make the engine hand the job to another worker. On shutdown the
//! plane stops taking jobs, lets the ones in hand finish for `jobs.shutdown_grace_secs`, and
//! gives back what is left with its retries untouched, for another plane to take at once.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tonic::{Code, Status, transport::Channel};
use zeebe::gateway::{self as pb, GatewayClient};

use crate::{
    breaker::Breakers,
    config::Config,
    connectors::{self, Decision, Failure, REST_JOB_TYPE, rest::Rest},
    journal::{Event, EventType, Journal, sanitize},
    metrics::Metrics,
    secrets::{Secrets, Used},
    token::{TokenError, Tokens},
};

/// The metric label of the REST connector.
const REST: &str = "rest";

/// Everything a job needs, shared by all of them.
pub struct Worker {
    pub(crate) config: Config,
    gateway: GatewayClient<Channel>,
    tokens: Tokens,
    secrets: Secrets,
    rest: Rest,
    pub(crate) breakers: Arc<Breakers>,
    journal: Journal,
    pub(crate) metrics: Arc<Metrics>,
    /// The REST connector's concurrency limit.
    permits: Arc<Semaphore>,
    /// Failed attempts per job key seen by this plane, for the exponential back-off.
    attempts: Mutex<HashMap<i64, u32>>,
    /// Jobs in hand (the permits say how many more may come, not how many are here: a long
    /// poll holds permits while it waits).
    in_hand: AtomicUsize,
}

/// One job in hand, counted from activation until its handler returns, however it returns.
struct InHand<'a>(&'a Worker);

impl<'a> InHand<'a> {
    fn new(worker: &'a Worker) -> Self {
        worker.in_hand.fetch_add(1, Ordering::Relaxed);
        worker.metrics.in_flight(REST, 1);
        Self(worker)
    }
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.0.in_hand.fetch_sub(1, Ordering::Relaxed);
        self.0.metrics.in_flight(REST, -1);
    }
}

/// Why the worker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the gateway address is not usable: {0}")]
    Address(String),
    #[error("{0}")]
    Token(#[from] TokenError),
    #[error("the gateway refused this plane: {0}")]
    Refused(String),
}

impl Worker {
    /// Connects (lazily) to the gateway and checks the credentials once: a refused client is
    /// a configuration error worth stopping for, an unreachable endpoint is not.
    ///
    /// # Errors
    /// A malformed gateway address, or credentials the token endpoint or gateway refuse.
    pub async fn new(
        config: Config,
        journal: Journal,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StartError> {
        let mut endpoint = Channel::from_shared(config.gateway.address.clone())
            .map_err(|e| StartError::Address(e.to_string()))?
            .connect_timeout(Duration::from_secs(10))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        if config.gateway.address.starts_with("https://") {
            let pem = std::fs::read(&config.gateway.ca_file).map_err(|e| {
                StartError::Address(format!(
                    "gateway.ca_file {}: {e}",
                    config.gateway.ca_file.display()
                ))
            })?;
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(pem));
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| StartError::Address(e.to_string()))?;
        }
        let gateway = GatewayClient::new(endpoint.connect_lazy());
        let tokens = Tokens::new(&config.oauth);
        match tokens.bearer().await {
            Err(refused @ TokenError::Refused { .. }) => return Err(refused.into()),
            Err(unreachable) => {
                tracing::warn!(error = %unreachable, "no gateway token yet; retrying while taking jobs");
            }
            Ok(_) => {}
        }
        let worker = Arc::new(Self {
            secrets: Secrets::new(&config.secrets),
            rest: Rest::new(
                config.connectors.rest.max_per_host,
                config.connectors.rest.max_response_bytes,
            ),
            breakers: Arc::new(Breakers::new(
                config.breaker.failure_threshold,
                Duration::from_secs(config.breaker.open_secs),
            )),
            permits: Arc::new(Semaphore::new(config.connectors.rest.max_concurrent)),
            attempts: Mutex::default(),
            in_hand: AtomicUsize::new(0),
            config,
            gateway,
            tokens,
            journal,
            metrics,
        });
        // A gateway that answers and refuses the tenant is misconfiguration too. Asking for
        // jobs of a type no model uses, without waiting, checks exactly what the plane will
        // do (credentials, the `jobs` permission, the tenant) and takes nothing.
        let probe = pb::ActivateJobsRequest {
            r#type: "astraflow-plane:tenant-check".into(),
            worker: worker.config.worker_name.clone(),
            timeout: 1_000,
            max_jobs_to_activate: 1,
            fetch_variable: Vec::new(),
            request_timeout: -1,
            tenant_ids: vec![worker.config.tenant.clone()],
        };
        match worker
            .call(probe, |mut g, r| async move { g.activate_jobs(r).await })
            .await
        {
            Err(status)
                if matches!(
                    status.code(),
                    Code::PermissionDenied | Code::Unauthenticated
                ) =>
            {
                return Err(StartError::Refused(status.message().to_owned()));
            }
            Err(status) => {
                tracing::warn!(error = %status.message(), "the gateway does not answer yet");
            }
            Ok(_) => {}
        }
        Ok(worker)
    }

    /// One gateway call with the current token; a token the gateway no longer accepts is
    /// replaced and the call made once more.
    async fn call<T, R, F, Fut>(&self, message: T, rpc: F) -> Result<R, Status>
    where
        T: Clone,
        F: Fn(GatewayClient<Channel>, tonic::Request<T>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        for attempt in 0..2 {
            let started = Instant::now();
            let bearer = self
                .tokens
                .bearer()
                .await
                .map_err(|e| Status::unauthenticated(e.to_string()))?;
            self.metrics.token_fetched(started.elapsed());
            let mut request = tonic::Request::new(message.clone());
            if let Some(bearer) = bearer {
                request.metadata_mut().insert(
                    "authorization",
                    bearer
                        .parse()
                        .map_err(|_| Status::internal("the token is not a header value"))?,
                );
            }
            match rpc(self.gateway.clone(), request).await {
                Ok(response) => {
                    self.metrics.gateway_answered();
                    return Ok(response.into_inner());
                }
                Err(status) if status.code() == Code::Unauthenticated && attempt == 0 => {
                    self.tokens.invalidate().await;
                }
                Err(status) => {
                    if status.code() != Code::Unavailable {
                        self.metrics.gateway_answered();
                    }
                    return Err(status);
                }
            }
        }
        unreachable!("the loop returns on its second pass")
    }

    fn job_timeout_ms(&self) -> i64 {
        i64::try_from(self.config.jobs.timeout().as_millis()).unwrap_or(i64::MAX)
    }

    /// Long-polls `ActivateJobs` for `job_type` until `stop` turns true.
    pub async fn poll(
        self: Arc<Self>,
        job_type: &'static str,
        mut stop: watch::Receiver<bool>,
        abort: watch::Receiver<bool>,
    ) {
        let mut failures = 0u32;
        while !*stop.borrow() {
            // One permit at least, then as many more as are free: the request asks for as
            // many jobs as the plane can start now.
            let first = tokio::select! {
                permit = self.permits.clone().acquire_owned() => permit.expect("never closed"),
                _ = stop.changed() => break,
            };
            // At most half the limit (and 32): a long poll holds its permits while it
            // waits, and the stream must still find some free.
            let most = (self.config.connectors.rest.max_concurrent / 2).clamp(1, 32);
            let mut permits = vec![first];
            while permits.len() < most {
                match self.permits.clone().try_acquire_owned() {
                    Ok(permit) => permits.push(permit),
                    Err(_) => break,
                }
            }
            let request = pb::ActivateJobsRequest {
                r#type: job_type.to_owned(),
                worker: self.config.worker_name.clone(),
                timeout: self.job_timeout_ms(),
                max_jobs_to_activate: i32::try_from(permits.len()).unwrap_or(1),
                fetch_variable: Vec::new(),
                request_timeout: i64::try_from(self.config.jobs.poll_timeout_secs * 1000)
                    .unwrap_or(20_000),
                tenant_ids: vec![self.config.tenant.clone()],
            };
            let polled = tokio::select! {
                polled = self.activate(request, &mut permits, &abort) => polled,
                _ = stop.changed() => break,
            };
            match polled {
                Ok(()) => failures = 0,
                Err(status) => {
                    failures += 1;
                    let wait = reconnect_backoff(failures);
                    tracing::warn!(code = ?status.code(), error = %status.message(), retry_in = ?wait, "ActivateJobs failed");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => break,
                    }
                }
            }
        }
    }

    async fn activate(
        self: &Arc<Self>,
        request: pb::ActivateJobsRequest,
        permits: &mut Vec<OwnedSemaphorePermit>,
        abort: &watch::Receiver<bool>,
    ) -> Result<(), Status> {
        let mut stream = self
            .call(request, |mut g, r| async move { g.activate_jobs(r).await })
            .await?;
        while let Some(batch) = stream.message().await? {
            for job in batch.jobs {
                let Some(permit) = permits.pop() else {
                    // The gateway gave more than was asked for; run it anyway rather than
                    // leave it to time out.
                    tracing::warn!(job = job.key, "more jobs than asked for");
                    let permit = self
                        .permits
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("never closed");
                    tokio::spawn(self.clone().handle(job, permit, abort.clone()));
                    continue;
                };
                tokio::spawn(self.clone().handle(job, permit, abort.clone()));
            }
        }
        Ok(())
    }

    /// Holds a `StreamActivatedJobs` stream for `job_type` open until `stop` turns true,
    /// reopening it when it breaks; a gateway without streams leaves the polling alone.
    pub async fn stream(
        self: Arc<Self>,
        job_type: &'static str,
        mut stop: watch::Receiver<bool>,
        abort: watch::Receiver<bool>,
    ) {
        let mut failures = 0u32;
        while !*stop.borrow() {
            let request = pb::StreamActivatedJobsRequest {
                r#type: job_type.to_owned(),
                worker: self.config.worker_name.clone(),
                timeout: self.job_timeout_ms(),
                fetch_variable: Vec::new(),
                tenant_ids: vec![self.config.tenant.clone()],
            };
            let opened = tokio::select! {
                opened = self.call(request, |mut g, r| async move { g.stream_activated_jobs(r).await }) => opened,
                _ = stop.changed() => break,
            };
            let mut jobs = match opened {
                Ok(jobs) => jobs,
                Err(status) if status.code() == Code::Unimplemented => {
                    tracing::info!("the gateway has no job streams; long polling only");
                    return;
                }
                Err(status) => {
                    failures += 1;
                    let wait = reconnect_backoff(failures);
                    tracing::warn!(code = ?status.code(), error = %status.message(), retry_in = ?wait, "StreamActivatedJobs failed");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
            };
            failures = 0;
            loop {
                // A permit first: while the plane is full, the stream is not read and the
                // gateway holds its jobs back (HTTP/2 flow control).
                let permit = tokio::select! {
                    permit = self.permits.clone().acquire_owned() => permit.expect("never closed"),
                    _ = stop.changed() => return,
                };
                let next = tokio::select! {
                    next = jobs.message() => next,
                    _ = stop.changed() => return,
                };
                match next {
                    Ok(Some(job)) => {
                        tokio::spawn(self.clone().handle(job, permit, abort.clone()));
                    }
                    Ok(None) => break,
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), error = %status.message(), "the job stream broke; reopening");
                        break;
                    }
                }
            }
        }
    }

    /// Runs one job to its end and reports it.
    async fn handle(
        self: Arc<Self>,
        job: pb::ActivatedJob,
        _permit: OwnedSemaphorePermit,
        mut abort: watch::Receiver<bool>,
    ) {
        let started = Instant::now();
        let _in_hand = InHand::new(&self);
        let variables: Value = serde_json::from_str(&job.variables).unwrap_or(Value::Null);
        let headers: Map<String, Value> =
            serde_json::from_str(&job.custom_headers).unwrap_or_default();
        // Journaled while the call runs; the job is reported only once this is on disk.
        let activated = {
            let journal = self.journal.clone();
            let event = self.event(
                &job,
                EventType::TaskActivated,
                &variables,
                &Used::default(),
                serde_json::json!({
                    "worker": self.config.worker_name,
                    "connector": REST,
                    "retries": job.retries,
                }),
            );
            tokio::spawn(async move { journal.append(event).await })
        };

        let mut target_time = Duration::ZERO;
        let (outcome, used, host) = match self.secrets.resolve(&variables) {
            Err(missing) => (
                Err(Failure::input(missing.to_string())),
                Used::default(),
                None,
            ),
            Ok((inputs, used)) => {
                let host = connectors::rest::target_of(&inputs);
                let admitted = match &host {
                    Some(host) => self.breakers.admit(host, Instant::now()),
                    None => Ok(()),
                };
                match admitted {
                    Err(open) => {
                        // Not the job's fault: give it back untouched after the wait.
                        let _ = activated.await;
                        self.give_back(
                            &job,
                            &open.to_string(),
                            open.retry_in,
                            "breaker_open",
                            started,
                        )
                        .await;
                        return;
                    }
                    Ok(()) => {
                        let key = format!("astraflow-job-{}", job.key);
                        let call = self.rest.execute(&inputs, &key);
                        let extend = self.extend_while_running(job.key);
                        let target_started = Instant::now();
                        let outcome = tokio::select! {
                            outcome = call => Some(outcome),
                            () = extend => None,
                            Ok(_) = abort.wait_for(|a| *a) => None,
                        };
                        target_time = target_started.elapsed();
                        let Some(outcome) = outcome else {
                            let _ = activated.await;
                            self.give_back(
                                &job,
                                "the plane stopped before the call finished",
                                Duration::ZERO,
                                "given_back",
                                started,
                            )
                            .await;
                            return;
                        };
                        if let Some(host) = &host {
                            let host_ok = match &outcome {
                                Ok(_) => true,
                                Err(failure) => !failure.host_failed,
                            };
                            self.breakers.record(host, host_ok, Instant::now());
                        }
                        (outcome, used, host)
                    }
                }
            }
        };
        if !matches!(activated.await, Ok(Ok(_))) {
            tracing::error!(
                job = job.key,
                "journal append failed; the job is left to time out"
            );
            return;
        }

        let decision = connectors::decide(&headers, &outcome).unwrap_or_else(|e| Decision::Fail {
            message: e.to_string(),
            variables: Map::new(),
            retries: Some(0),
            backoff: None,
            retryable: false,
        });
        let outcome_label = self
            .report(
                &job,
                decision,
                &used,
                &headers,
                &variables,
                host.as_deref(),
                started,
                target_time,
            )
            .await;
        self.metrics
            .job_done(REST, outcome_label, started.elapsed(), target_time);
    }

    /// Calls `UpdateJobTimeout` every half timeout; never returns on its own.
    async fn extend_while_running(&self, key: i64) {
        let every = self.config.jobs.timeout() / 2;
        loop {
            tokio::time::sleep(every).await;
            let request = pb::UpdateJobTimeoutRequest {
                job_key: key,
                timeout: self.job_timeout_ms(),
                operation_reference: None,
            };
            if let Err(status) = self
                .call(
                    request,
                    |mut g, r| async move { g.update_job_timeout(r).await },
                )
                .await
            {
                tracing::warn!(job = key, error = %status.message(), "could not extend the job's timeout");
            }
        }
    }

    fn event(
        &self,
        job: &pb::ActivatedJob,
        event_type: EventType,
        variables: &Value,
        used: &Used,
        context: Value,
    ) -> Event {
        Event {
            tenant_id: job.tenant_id.clone(),
            execution_id: job.process_instance_key.to_string(),
            workflow_id: job.bpmn_process_id.clone(),
            workflow_version: job.process_definition_version,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event_type,
            task_id: job.element_id.clone(),
            task_name: job.r#type.clone(),
            job_key: job.key.to_string(),
            execution_context: context,
            variables: sanitize(variables, used),
        }
    }

    /// Journals the decision, then tells the engine; returns the metric outcome.
    #[expect(
        clippy::too_many_arguments,
        reason = "the job, what it used and how long it took: one call site, in handle"
    )]
    async fn report(
        &self,
        job: &pb::ActivatedJob,
        decision: Decision,
        used: &Used,
        headers: &Map<String, Value>,
        inputs: &Value,
        host: Option<&str>,
        started: Instant,
        target_time: Duration,
    ) -> &'static str {
        let context = |status: &str, extra: Value| {
            let mut context = serde_json::json!({
                "worker": self.config.worker_name,
                "connector": REST,
                "host": host,
                "status": status,
                "durationMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                "targetMs": u64::try_from(target_time.as_millis()).unwrap_or(u64::MAX),
            });
            if let (Some(into), Some(from)) = (context.as_object_mut(), extra.as_object()) {
                into.extend(from.clone());
            }
            context
        };
        match decision {
            Decision::Complete(variables) => {
                let variables = used.scrub_json(&Value::Object(variables));
                let event = self.event(
                    job,
                    EventType::TaskCompleted,
                    &variables,
                    used,
                    context("completed", Value::Null),
                );
                if !self.journaled(event).await {
                    return "journal_failed";
                }
                self.forget(job.key);
                let request = pb::CompleteJobRequest {
                    job_key: job.key,
                    variables: variables.to_string(),
                    result: None,
                };
                self.answer(job.key, request, |mut g, r| async move {
                    g.complete_job(r).await
                })
                .await;
                "completed"
            }
            Decision::ThrowError {
                code,
                message,
                variables,
            } => {
                let variables = used.scrub_json(&Value::Object(variables));
                let message = used.scrub(&message);
                let event = self.event(
                    job,
                    EventType::ErrorThrown,
                    &variables,
                    used,
                    context(
                        "error_thrown",
                        serde_json::json!({ "errorCode": code, "errorMessage": message }),
                    ),
                );
                if !self.journaled(event).await {
                    return "journal_failed";
                }
                self.forget(job.key);
                let request = pb::ThrowErrorRequest {
                    job_key: job.key,
                    error_code: code,
                    error_message: message,
                    variables: variables.to_string(),
                };
                self.answer(job.key, request, |mut g, r| async move {
                    g.throw_error(r).await
                })
                .await;
                "error_thrown"
            }
            Decision::Fail {
                message,
                variables,
                retries,
                backoff,
                retryable,
            } => {
                let message = used.scrub(&message);
                let variables = used.scrub_json(&Value::Object(variables));
                let retries = if retryable {
                    retries.unwrap_or(job.retries - 1).max(0)
                } else {
                    0
                };
                let backoff = if retries > 0 {
                    backoff.unwrap_or_else(|| self.backoff(job.key, headers))
                } else {
                    Duration::ZERO
                };
                let event = self.event(
                    job,
                    EventType::TaskFailed,
                    inputs,
                    used,
                    context(
                        "failed",
                        serde_json::json!({
                            "errorMessage": message,
                            "retriesLeft": retries,
                            "backoffMs": u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
                        }),
                    ),
                );
                if !self.journaled(event).await {
                    return "journal_failed";
                }
                if retries == 0 {
                    self.forget(job.key);
                }
                let request = pb::FailJobRequest {
                    job_key: job.key,
                    retries,
                    error_message: message,
                    retry_back_off: i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX),
                    variables: if variables.as_object().is_some_and(Map::is_empty) {
                        String::new()
                    } else {
                        variables.to_string()
                    },
                };
                self.answer(
                    job.key,
                    request,
                    |mut g, r| async move { g.fail_job(r).await },
                )
                .await;
                "failed"
            }
        }
    }

    async fn journaled(&self, event: Event) -> bool {
        let started = Instant::now();
        let key = event.job_key.clone();
        match self.journal.append(event).await {
            Ok(_) => {
                self.metrics.journal_appended(started.elapsed());
                true
            }
            Err(e) => {
                // Not reported: the engine gives the job out again after its timeout, and the
                // idempotency key makes the repeat safe.
                tracing::error!(job = %key, error = %e, "journal append failed; the job is left to time out");
                false
            }
        }
    }

    /// Gives a job back with its retries untouched (breaker open, shutting down).
    async fn give_back(
        &self,
        job: &pb::ActivatedJob,
        message: &str,
        backoff: Duration,
        outcome: &'static str,
        started: Instant,
    ) {
        // The journal closes what TASK_ACTIVATED opened, as for any other outcome.
        let event = self.event(
            job,
            EventType::TaskFailed,
            &Value::Null,
            &Used::default(),
            serde_json::json!({
                "worker": self.config.worker_name,
                "connector": REST,
                "status": outcome,
                "errorMessage": message,
                "retriesLeft": job.retries,
                "backoffMs": u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX),
            }),
        );
        if !self.journaled(event).await {
            return;
        }
        let request = pb::FailJobRequest {
            job_key: job.key,
            retries: job.retries,
            error_message: message.to_owned(),
            retry_back_off: i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX),
            variables: String::new(),
        };
        self.answer(
            job.key,
            request,
            |mut g, r| async move { g.fail_job(r).await },
        )
        .await;
        self.metrics
            .job_done(REST, outcome, started.elapsed(), Duration::ZERO);
    }

    /// Sends a job's answer, retrying while the gateway is unavailable; a job the engine no
    /// longer has (timed out, cancelled) is only logged.
    async fn answer<T, R, F, Fut>(&self, key: i64, request: T, rpc: F)
    where
        T: Clone,
        F: Fn(GatewayClient<Channel>, tonic::Request<T>) -> Fut + Copy,
        Fut: Future<Output = Result<tonic::Response<R>, Status>>,
    {
        for attempt in 1..=6u32 {
            match self.call(request.clone(), rpc).await {
                Ok(_) => return,
                Err(status)
                    if matches!(
                        status.code(),
                        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded
                    ) && attempt < 6 =>
                {
                    tokio::time::sleep(reconnect_backoff(attempt)).await;
                }
                Err(status) => {
                    tracing::warn!(job = key, code = ?status.code(), error = %status.message(), "the engine did not take the job's answer");
                    return;
                }
            }
        }
    }

    /// The wait before the next attempt: the task's `retryBackoff` (or the plane's initial
    /// back-off), doubled for every earlier failure this plane saw, capped.
    fn backoff(&self, key: i64, headers: &Map<String, Value>) -> Duration {
        let base = headers
            .get("retryBackoff")
            .and_then(Value::as_str)
            .and_then(connectors::parse_iso_duration)
            .unwrap_or(Duration::from_millis(self.config.retry.initial_backoff_ms));
        let mut attempts = self.attempts.lock().expect("attempts lock");
        if attempts.len() > 100_000 {
            attempts.clear();
        }
        let failures = attempts.entry(key).or_insert(0);
        *failures += 1;
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
        base.saturating_mul(factor)
            .min(Duration::from_secs(self.config.retry.max_backoff_secs))
    }

    fn forget(&self, key: i64) {
        self.attempts.lock().expect("attempts lock").remove(&key);
    }

    /// The `authorization` value the gateway takes, which the control plane takes too.
    pub(crate) async fn bearer(&self) -> Result<Option<String>, TokenError> {
        self.tokens.bearer().await
    }

    /// Jobs in hand now.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_hand.load(Ordering::Relaxed)
    }

    /// Waits until every job in hand has finished, or `grace` has passed; returns whether
    /// all finished.
    pub async fn drained(&self, grace: Duration) -> bool {
        let all = u32::try_from(self.config.connectors.rest.max_concurrent).unwrap_or(u32::MAX);
        tokio::time::timeout(grace, self.permits.acquire_many(all))
            .await
            .is_ok()
    }
}

/// Reconnection back-off: 0.5 s doubling to 30 s, with up to a quarter more at random so
/// many planes do not retry in step.
fn reconnect_backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(500)
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(6)));
    let base = base.min(Duration::from_secs(30));
    let jitter = rand::random_range(0..=base.as_millis() as u64 / 4);
    base + Duration::from_millis(jitter)
}

/// The job type of each enabled connector.
#[must_use]
pub fn served_job_types(config: &Config) -> Vec<&'static str> {
    let mut types = Vec::new();
    if config.connectors.rest.enabled {
        types.push(REST_JOB_TYPE);
    }
    types
}
