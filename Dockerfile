# syntax=docker/dockerfile:1
# One image for every role of the chat cluster: `chat <role>` is the command.
#
#   docker build -t chat-cluster --build-arg CHAT_REVISION=$(git rev-parse --short=12 HEAD) .
#   docker run --rm -p 127.0.0.1:8080:8080 -e DEV_LOGIN=true -v chat-data:/data chat-cluster   # standalone, to try out
#   docker run --rm -e NATS_URL=nats://nats:4222 -e JWT_SECRET=... chat-cluster gateway
#
# Debian bookworm (glibc 2.36) and Node 20: the uWebSockets.js binaries are
# built for Node 20's ABI and glibc >= 2.27 (not musl, so no Alpine).
ARG NODE_IMAGE=node:20-bookworm-slim

# --- the lock and every workspace's manifest: npm needs all of them to read the lock
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY proto/package.json proto/
COPY client/package.json client/
COPY platform/package.json platform/
COPY presence/package.json presence/
COPY conversation-actors/package.json conversation-actors/
COPY edge-gateway/package.json edge-gateway/
COPY local-cassandra/package.json local-cassandra/
COPY deploy/package.json deploy/
COPY testkit/package.json testkit/
COPY bench/package.json bench/
COPY web/package.json web/
COPY examples/summarizer-bot/package.json examples/summarizer-bot/

# --- production dependencies: the third-party packages the bundle imports ----
# Only the @chat/deploy workspace's production dependency tree (its @chat/*
# dependencies are bundled into deploy/dist/chat.mjs, their own third-party
# dependencies are not), installed exactly as locked, native addons built for
# this image's platform: better-sqlite3 fetches its prebuilt binary or compiles
# (python3, make, g++); uWebSockets.js ships binaries for linux x64 and arm64.
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=manifests /app/ ./
# Then the workspace links go (the bundle carries our own packages), and both
# native addons must load here.
RUN npm ci --omit=dev --workspace=@chat/deploy --no-audit --no-fund \
 && rm -rf node_modules/@chat \
 && node -e "require('better-sqlite3')(':memory:').close(); require('uWebSockets.js')"

# --- build: the `chat` bundle and the web client ------------------------------
FROM manifests AS build
# No install scripts: the build needs esbuild, vite and svelte (their platform
# binaries come as optional packages), not the native addons.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# chat_build_info{revision}: there is no .git in the build context.
ARG CHAT_REVISION=unknown
RUN CHAT_REVISION=${CHAT_REVISION} npm run build

# --- runtime -------------------------------------------------------------------
# HOST: a container is reached through its own interface, so every role listens
# on all of them (standalone's own default is 127.0.0.1). Standalone's dev login
# is then off unless DEV_LOGIN=true is given, as in the try-out command above.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./
# deploy/package.json: the bundle finds its folder (and web/dist beside it) by it.
COPY --from=build /app/deploy/package.json deploy/
COPY --from=build /app/deploy/bin deploy/bin
# The bundle, its source map, the SQLite workers and the ScyllaDB migrations.
COPY --from=build /app/deploy/dist deploy/dist
COPY --from=build /app/web/dist web/dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
# 8080 gateway HTTP/WebSocket and web client (standalone: its ops endpoints too),
# 9090 gateway gRPC API, 9101 gateway ops (/healthz /readyz /metrics, OPS_PORT),
# 9100 actor host ops, 9200 presence ops, 9300 search indexer ops.
EXPOSE 8080 9090 9100 9101 9200 9300
# /healthz (alive) of the role this container runs, on its ops port (a gateway's
# OPS_PORT, standalone's PORT unless OPS_PORT is set, the PORT of actors, presence
# and indexer). Not /readyz: readiness drops while NATS is away, the disk is full
# or a gateway is full or draining, and an orchestrator acting on an unhealthy
# container (Swarm replaces it) would restart a process that recovers by itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "deploy/bin/healthcheck.mjs"]
ENTRYPOINT ["node", "--enable-source-maps", "deploy/bin/chat.mjs"]
CMD ["standalone"]
