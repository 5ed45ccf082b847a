# One image for every Clusterio process (docs/deploy.md):
#   docker run -e MODE=master -v clusterio-master:/data -p 7100:7100 -p 7101:7101 -p 8080:8080 IMAGE
#   docker run -e MODE=slave -e MASTER=master.example:7100 -e INSTANCE=world1 \
#     -v ./host1.cred.json:/credentials/host1.cred.json:ro -v clusterio-instances:/instances \
#     -p 34197:34197/udp IMAGE
# Factorio: the image carries factorio-sim; mount a real headless install at /factorio to use it.
# The entrypoint (scripts/docker-entrypoint) execs the process: `docker stop` (SIGTERM) makes the
# master close its database and the slave save its worlds, and both exit 0.

# ---- build -------------------------------------------------------------------------------------
FROM debian:bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ninja-build \
      libcaf-dev cppzmq-dev libzmq3-dev libmsgpack-cxx-dev libboost-dev libspdlog-dev catch2 \
      liblua5.2-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libmicrohttpd-dev libcpp-httplib-dev libsodium-dev \
      zip unzip zlib1g-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The web page's npm dependencies (uPlot, htm with Preact, js-sha256), pinned by the lock file.
COPY webui/package.json webui/package-lock.json webui/
RUN cd webui && npm ci --no-audit --no-fund --omit=dev
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLUSTERIO_FUZZ=OFF \
 && cmake --build /build --target clusterio-master clusterio-slave clusterio-ctl factorio-sim factorio-sim-data clusterio-mod

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcaf-core0.17 libzmq5 libsodium23 libspdlog1.10 libfmt9 liblua5.2-0 libsqlite3-0 libmicrohttpd12 \
      sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 845 --user-group --home-dir /var/lib/clusterio-slave --shell /usr/sbin/nologin clusterio \
 && mkdir -p /data /instances /credentials /factorio /var/lib/clusterio-slave /usr/share/clusterio/mod \
 && chown clusterio:clusterio /data /instances /credentials /factorio /var/lib/clusterio-slave \
 && chmod 700 /data /credentials
COPY --from=build /build/master/clusterio-master /build/slave/clusterio-slave /build/tools/clusterio-ctl /usr/local/bin/
COPY --from=build /build/factorio-sim /opt/clusterio/factorio-sim
COPY --from=build /build/mod/clusterio_*.zip /usr/share/clusterio/mod/
COPY --from=build /src/webui /usr/share/clusterio/webui
COPY scripts/docker-entrypoint /usr/local/bin/docker-entrypoint

USER clusterio
WORKDIR /var/lib/clusterio-slave
# Mount what the mode uses (docs/deploy.md §8); no VOLUME here, so that a container gets no
# anonymous volumes for the modes it does not run. /data: the master's database, key pair and
# admin token (the entrypoint keeps it 0700). /instances: the slave's worlds. /factorio: a real
# Factorio headless install (empty: the image's factorio-sim is used).
# control, bus, web (master); the first game ports (slave, UDP).
EXPOSE 7100/tcp 7101/tcp 8080/tcp 34197-34206/udp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/docker-entrypoint"]
