# syntax=docker/dockerfile:1
# One image holding every Roomshard binary: roomshard-operator, roomshard-worker,
# roomshard-matchmaker and roomshard-loadtest. The operator runs from it and, by default,
# RoomShardSets run their workers and matchmaker from it too. See docs/IMAGES.md.
#
#   docker build -t roomshard:dev .

ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep the registry and build products between builds; the binaries are
# copied out of the cached target folder before the layer ends.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
      -p roomshard-operator -p roomshard-worker -p roomshard-matchmaker -p roomshard-loadtest \
      --bin roomshard-operator --bin roomshard-worker --bin roomshard-matchmaker --bin roomshard-loadtest \
 && mkdir -p /out \
 && cp target/release/roomshard-operator target/release/roomshard-worker \
       target/release/roomshard-matchmaker target/release/roomshard-loadtest /out/

# glibc, libgcc and CA certificates, no shell, user 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="roomshard" \
      org.opencontainers.image.description="Roomshard: sharded, interest-managed Socket.IO rooms on Kubernetes (operator, worker, matchmaker, loadtest)" \
      org.opencontainers.image.source="https://github.com/roomshard/roomshard" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# Worker Socket.IO port; the matchmaker and the operator's metrics use 8080.
EXPOSE 3000 8080
# The operator by default; workers and matchmakers are started with their own command.
CMD ["roomshard-operator"]
