# The Launchplane server as a container image: built in one stage (the
# host and the driver components, which must match the pinned digests in
# drivers/registry.toml), run in a slim one as a non-root user.
#
#   docker build -t launchplane .
#   docker run -p 8080:8080 -e LAUNCHPLANE_DATABASE_URL=postgres://… \
#     -e LAUNCHPLANE_SERVICE_AUDIENCE=… launchplane
#
# docs/operating.md ("Container image") lists the settings.

FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
# The components first (xtask refuses digests that differ from the pins
# only in CI; here the build writes the registry the image ships).
RUN cargo xtask build-drivers \
 && cargo build --release --locked -p launchplane --bin launchplane \
 && mkdir -p /out/drivers \
 && cp target/release/launchplane /out/ \
 && cp target/guests/wasm32-wasip2/release/*.wasm /out/drivers/ \
 && sed 's#\.\./target/guests/wasm32-wasip2/release/##' drivers/registry.toml > /out/drivers/registry.toml

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/launchplane --create-home launchplane
COPY --from=build /out/launchplane /usr/local/bin/launchplane
COPY --from=build /out/drivers /usr/local/share/launchplane/drivers
USER 10001:10001
WORKDIR /var/lib/launchplane
ENV LAUNCHPLANE_BIND=0.0.0.0:8080 \
    LAUNCHPLANE_DRIVER_REGISTRY=/usr/local/share/launchplane/drivers/registry.toml \
    LAUNCHPLANE_COMPONENT_CACHE_DIR=/var/lib/launchplane/components
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/v1/health >/dev/null || exit 1
ENTRYPOINT ["launchplane"]
CMD ["serve"]
