//! A real gRPC round trip over TCP: the generated server and client, with and without
//! gzip, and the UNIMPLEMENTED default for RPCs a gateway does not serve.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    Code, Request, Response, Status,
    codec::CompressionEncoding,
    transport::{Channel, Server},
};
use zeebe::gateway::{
    ActivateJobsRequest, ActivateJobsResponse, ActivatedJob, BoxStream, BrokerInfo,
    DeployResourceRequest, Gateway, GatewayClient, GatewayServer, Partition, Resource,
    TopologyRequest, TopologyResponse, partition::PartitionBrokerHealth,
    partition::PartitionBrokerRole,
};

/// Serves Topology and ActivateJobs; everything else falls through to the
/// generated UNIMPLEMENTED defaults. Remembers the `grpc-encoding` of each request.
#[derive(Default)]
struct TestGateway {
    request_encodings: Arc<Mutex<Vec<Option<String>>>>,
}

impl TestGateway {
    fn record_encoding<T>(&self, request: &Request<T>) {
        let encoding = request
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.request_encodings
            .lock()
            .expect("lock not poisoned")
            .push(encoding);
    }
}

#[tonic::async_trait]
impl Gateway for TestGateway {
    async fn topology(
        &self,
        request: Request<TopologyRequest>,
    ) -> Result<Response<TopologyResponse>, Status> {
        self.record_encoding(&request);
        Ok(Response::new(TopologyResponse {
            brokers: vec![BrokerInfo {
                node_id: 0,
                host: "127.0.0.1".into(),
                port: 26501,
                partitions: vec![Partition {
                    partition_id: 1,
                    role: PartitionBrokerRole::Leader.into(),
                    health: PartitionBrokerHealth::Healthy.into(),
                }],
                version: "8.7.0".into(),
            }],
            cluster_size: 1,
            partitions_count: 1,
            replication_factor: 1,
            gateway_version: "8.7.0".into(),
            cluster_id: String::new(),
        }))
    }

    async fn activate_jobs(
        &self,
        request: Request<ActivateJobsRequest>,
    ) -> Result<Response<BoxStream<ActivateJobsResponse>>, Status> {
        self.record_encoding(&request);
        let request = request.into_inner();
        let tenant_id = request.tenant_ids.first().cloned().unwrap_or_default();
        let jobs = (0..request.max_jobs_to_activate)
            .map(|i| ActivatedJob {
                key: 100 + i64::from(i),
                r#type: request.r#type.clone(),
                worker: request.worker.clone(),
                retries: 3,
                variables: r#"{"payload":"x"}"#.repeat(100),
                custom_headers: "{}".into(),
                tenant_id: tenant_id.clone(),
                ..Default::default()
            })
            .collect();
        // Two frames, as a gateway sends when jobs come from several partitions.
        let frames = vec![
            Ok(ActivateJobsResponse { jobs }),
            Ok(ActivateJobsResponse { jobs: Vec::new() }),
        ];
        Ok(Response::new(Box::pin(tokio_stream::iter(frames))))
    }
}

struct RunningGateway {
    addr: SocketAddr,
    request_encodings: Arc<Mutex<Vec<Option<String>>>>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningGateway {
    async fn stop(self) {
        self.shutdown.send(()).expect("server still running");
        self.task
            .await
            .expect("server task joins")
            .expect("server exits cleanly");
    }

    fn encodings(&self) -> Vec<Option<String>> {
        self.request_encodings
            .lock()
            .expect("lock not poisoned")
            .clone()
    }
}

/// Binds 127.0.0.1:0 before spawning, so the client can connect at once.
async fn spawn_gateway() -> RunningGateway {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let gateway = TestGateway::default();
    let request_encodings = Arc::clone(&gateway.request_encodings);
    let service = GatewayServer::new(gateway)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                stopped.await.ok();
            }),
    );
    RunningGateway {
        addr,
        request_encodings,
        shutdown,
        task,
    }
}

async fn connect(addr: SocketAddr) -> GatewayClient<Channel> {
    GatewayClient::connect(format!("http://{addr}"))
        .await
        .expect("client connects")
}

#[tokio::test]
async fn topology_round_trips_over_tcp() {
    let gateway = spawn_gateway().await;
    let mut client = connect(gateway.addr).await;

    let topology = client
        .topology(TopologyRequest {})
        .await
        .expect("topology succeeds")
        .into_inner();

    assert_eq!(topology.cluster_size, 1);
    assert_eq!(topology.gateway_version, "8.7.0");
    let partition = &topology.brokers[0].partitions[0];
    assert_eq!(partition.role(), PartitionBrokerRole::Leader);
    assert_eq!(partition.health(), PartitionBrokerHealth::Healthy);
    assert_eq!(gateway.encodings(), [None]);

    gateway.stop().await;
}

#[tokio::test]
async fn gzip_compressed_requests_and_responses_are_accepted() {
    let gateway = spawn_gateway().await;
    let mut client = connect(gateway.addr)
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip);

    let topology = client
        .topology(TopologyRequest {})
        .await
        .expect("gzip topology succeeds")
        .into_inner();
    assert_eq!(topology.partitions_count, 1);

    let mut stream = client
        .activate_jobs(ActivateJobsRequest {
            r#type: "payment".into(),
            worker: "w1".into(),
            timeout: 30_000,
            max_jobs_to_activate: 2,
            tenant_ids: vec!["tenant-a".into()],
            ..Default::default()
        })
        .await
        .expect("gzip activate succeeds")
        .into_inner();
    let mut jobs = Vec::new();
    while let Some(frame) = stream.message().await.expect("frame decodes") {
        jobs.extend(frame.jobs);
    }

    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].key, 100);
    assert_eq!(jobs[1].r#type, "payment");
    assert_eq!(jobs[1].tenant_id, "tenant-a");
    assert!(jobs[0].variables.starts_with(r#"{"payload":"x"}"#));
    assert_eq!(
        gateway.encodings(),
        [Some("gzip".to_owned()), Some("gzip".to_owned())]
    );

    gateway.stop().await;
}

#[tokio::test]
async fn rpcs_the_gateway_does_not_serve_are_unimplemented() {
    let gateway = spawn_gateway().await;
    let mut client = connect(gateway.addr).await;

    let status = client
        .deploy_resource(DeployResourceRequest {
            resources: vec![Resource {
                name: "order.bpmn".into(),
                content: b"<definitions/>".to_vec(),
            }],
            tenant_id: "<default>".into(),
        })
        .await
        .expect_err("DeployResource is not served by the test gateway");
    assert_eq!(status.code(), Code::Unimplemented);

    // The connection stays usable after an UNIMPLEMENTED answer.
    client
        .topology(TopologyRequest {})
        .await
        .expect("topology still succeeds");

    gateway.stop().await;
}
