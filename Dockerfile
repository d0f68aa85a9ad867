# earshot: multi-stage build, small non-root runtime image.
#   docker build -t earshot .
#   docker run --rm earshot                       # the embedded default: demo replay
#   docker run --rm -v $PWD/my.toml:/app/config/earshot.toml earshot run

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits reuse the cached layer. The bench
# sources come along: Cargo.toml declares them, and cargo wants them present.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src
COPY src src
COPY config config
COPY rules rules
COPY schemas schemas
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin earshot
WORKDIR /app
COPY --from=build /src/target/release/earshot /usr/local/bin/earshot
COPY config config
COPY rules rules
COPY fixtures/demo fixtures/demo
RUN mkdir -p out && chown earshot:earshot out
USER earshot
EXPOSE 9464
ENTRYPOINT ["earshot"]
CMD ["run"]
