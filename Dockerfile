# syntax=docker/dockerfile:1
# Release images of the ASTRAflow server (the default target) and of the execution plane.
#
#   docker build -t astraflow .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://... astraflow
#   docker build --target plane -t astraflow-plane .
#   (ops/plane/ has an ECS task definition and a Kubernetes manifest for it)
#
# Without DATABASE_URL the server runs its own PostgreSQL from the binaries in the image, with
# data under /var/lib/astraflow (mount a volume there to keep it).

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm python3 \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
# wasm-bindgen's CLI must match the crate version in Cargo.lock.
COPY Cargo.toml Cargo.lock ./
RUN version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock) \
    && cargo install wasm-bindgen-cli --version "$version"
COPY . .
RUN scripts/build.sh --release \
    && mkdir -p /out \
    && target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" \
    && cp "$target/release/astraflow" "$target/release/astraflow-plane" /out/ \
    && cp -r target/site /out/site

# The execution plane: one binary, the CA bundle, a non-root user, the journal on a volume.
FROM debian:bookworm-slim AS plane
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/astraflow-plane --shell /usr/sbin/nologin astraflow-plane
COPY --from=build /out/astraflow-plane /usr/local/bin/astraflow-plane
USER astraflow-plane
WORKDIR /var/lib/astraflow-plane
ENV ASTRAFLOW_PLANE_HTTP__HOST=0.0.0.0 \
    ASTRAFLOW_PLANE_HTTP__PORT=9464 \
    ASTRAFLOW_PLANE_LOG__FORMAT=json \
    ASTRAFLOW_PLANE_JOURNAL__DIR=/var/lib/astraflow-plane/journal
VOLUME /var/lib/astraflow-plane/journal
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/bin/env", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
ENTRYPOINT ["/usr/local/bin/astraflow-plane"]

# The server, last so that it is the image a plain `docker build` makes.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/astraflow --shell /usr/sbin/nologin astraflow
COPY --from=build /out/astraflow /usr/local/bin/astraflow
COPY --from=build /out/site /usr/share/astraflow/site
USER astraflow
WORKDIR /var/lib/astraflow
ENV ASTRAFLOW_ENVIRONMENT=production \
    ASTRAFLOW_HTTP__HOST=0.0.0.0 \
    ASTRAFLOW_HTTP__PORT=3000 \
    ASTRAFLOW_SITE__ROOT=/usr/share/astraflow/site \
    ASTRAFLOW_DATA_DIR=/var/lib/astraflow/data
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/bin/env", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200 OK' <&3"]
ENTRYPOINT ["/usr/local/bin/astraflow"]
