# syntax=docker/dockerfile:1
# The validator node: Node 24 slim, production dependencies only, a non-root
# user, the node's home on a volume, a health check on GET /health.
#
#   docker build -t validator .
#   docker run --rm -v validator-data:/data validator init        # once: keys, config.toml, genesis.json
#   docker run -d --name validator -v validator-data:/data \
#     -p 26656:26656 -p 127.0.0.1:26657:26657 validator              # validator start
#
# Checked by `npm run lint:dockerfile` (scripts/dockerfile-lint.ts); its steps
# are run outside Docker by test/scripts/dockerfile-steps.test.ts.

# Pinned to the Node release the project is tested with (pin the digest too in production).
FROM node:24.21.0-slim

# VALIDATOR_HOME is the home of `init`, `start` and the health check. Inside a
# container the API and p2p must listen on every interface so published ports
# reach them; the node's own default stays 127.0.0.1. The API port is the
# home's api.port (26657 by default), which the health check reads too.
ENV NODE_ENV=production \
    VALIDATOR_HOME=/data \
    VALIDATOR_API_HOST=0.0.0.0 \
    VALIDATOR_P2P_LISTEN=/ip4/0.0.0.0/tcp/26656

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The node runs from source (Node 24 strips the types); config/ holds the shipped defaults.
COPY config/ ./config/
COPY node/ ./node/

# The image's built-in unprivileged `node` user owns the data volume.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

# p2p (libp2p TCP) and the HTTP API.
EXPOSE 26656 26657

# `validator health` asks GET /health at the API address of the home's config
# (VALIDATOR_HOME, VALIDATOR_API_* included): healthy on 200 (ok) and 206
# (syncing), unhealthy on 503 (halted or stopping) or no answer.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/node/main.ts", "health"]

ENTRYPOINT ["node", "/app/node/main.ts"]
CMD ["start"]
