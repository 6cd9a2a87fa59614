# Multi-stage build: dependencies compile in their own layer, rebuilt only when Cargo.toml or
# Cargo.lock change; the runtime image holds the binary and config/ only, and runs as non-root.
# The binary is the package's `default-run`, read from Cargo.toml, and is /app/server in the
# image whatever the project is called.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/issuer-trust/Cargo.toml crates/issuer-trust/
# Stub every target the manifests declare, build the dependencies, then drop the stubs.
RUN mkdir -p src/bin benches crates/issuer-trust/src \
    && echo 'fn main() {}' > src/main.rs \
    && cp src/main.rs src/bin/dev_token.rs \
    && cp src/main.rs src/bin/doctor.rs \
    && cp src/main.rs src/bin/dpop_proof.rs \
    && cp src/main.rs benches/verify.rs \
    && cp src/main.rs benches/hello.rs \
    && touch src/lib.rs crates/issuer-trust/src/lib.rs \
    && cargo build --release --locked --bins \
    && rm -rf src benches crates/issuer-trust/src
COPY crates crates
COPY src src
COPY benches benches
RUN touch src/lib.rs src/main.rs crates/issuer-trust/src/lib.rs \
    && binary="$(sed -n 's/^default-run = "\(.*\)"$/\1/p' Cargo.toml)" \
    && cargo build --release --locked --bin "$binary" \
    && cp "target/release/$binary" /server

# glibc and libgcc, no shell, uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
WORKDIR /app
COPY --from=build /server /app/server
COPY config /app/config
ENV APP_ENV=production \
    APP__SERVER__HOST=0.0.0.0 \
    APP__SERVER__PORT=8080 \
    RUST_LOG=info
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/app/server", "healthcheck"]
ENTRYPOINT ["/app/server"]
