# kustoplan in a container: a small, non-root image holding only the release binary.
#
#   docker build -t kustoplan .
#   docker run --rm -v "$PWD:/work" -w /work kustoplan plan examples/gameplay
#
# The binary links librdkafka and OpenSSL statically and needs only glibc and libgcc_s
# (scripts/package-release checks that), so the runtime image is distroless "cc": no shell, no
# package manager, user `nonroot` (65532).

FROM rust:1.89-bookworm AS build
WORKDIR /src
# rdkafka builds librdkafka from source with cmake.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends cmake pkg-config \
    && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY scripts/check-linkage ./scripts/check-linkage
RUN cargo build --release --locked --bin kustoplan \
    && strip target/release/kustoplan \
    && scripts/check-linkage target/release/kustoplan

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/kustoplan /usr/local/bin/kustoplan
USER nonroot:nonroot
WORKDIR /work
HEALTHCHECK --interval=30s --timeout=5s --retries=1 CMD ["/usr/local/bin/kustoplan", "--version"]
ENTRYPOINT ["/usr/local/bin/kustoplan"]
CMD ["--help"]
