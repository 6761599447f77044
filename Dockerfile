# syntax=docker/dockerfile:1
#
# defender-ledger container image: a release build on the Rust toolchain, run as a non-root user
# on Debian slim with CA certificates. No secrets are built in: identity comes from the platform
# at run time (AKS workload identity, Container Apps managed identity).
#
#   docker build -t defender-ledger:0.1.0 .
#   docker run --rm defender-ledger:0.1.0 --help
#
# Builder and runtime use the same Debian release, so the binary links against the glibc it was
# built with. Bump both tags together.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
# The whole context (see .dockerignore): manifests, sources, queries and report definitions.
COPY . .
# Cache mounts keep the crates.io downloads and compiled dependencies between builds; the binary
# is copied out of the cached target directory in the same step. --locked builds exactly
# Cargo.lock.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin defender-ledger \
 && install -D -m 0755 target/release/defender-ledger /out/usr/local/bin/defender-ledger
# Editable data the binary reads from its working directory: Resource Graph queries (./queries
# overrides the embedded ones) and report definitions. Copied only when present, because an empty
# queries/ folder would shadow the embedded queries and fail the run.
RUN mkdir -p /out/app \
 && for d in queries reports; do if [ -d "$d" ]; then cp -R "$d" /out/app/; fi; done \
 && install -m 0644 deploy/defender-ledger.toml /out/app/defender-ledger.toml

FROM debian:trixie-slim AS runtime
# ca-certificates: TLS to Entra ID, Resource Graph and Blob Storage. Nothing else is installed.
# Not pinned (DL3008): Debian replaces old package versions, and a rebuild should pick up
# certificate updates; the base image tag is what pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ledger \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ledger
COPY --from=build /out/usr/local/bin/defender-ledger /usr/local/bin/defender-ledger
COPY --from=build /out/app/ /app/
WORKDIR /app
# Blob uploads and cost-export downloads spool through TMPDIR; mount a writable volume there when
# the root filesystem is read-only.
ENV TMPDIR=/tmp
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/defender-ledger"]
CMD ["--help"]
