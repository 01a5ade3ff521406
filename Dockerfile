# One image for every service of the workspace; the service is chosen at run time:
#   docker build -t sip-platform .
#   docker run --rm sip-platform registrar          # or: -e SERVICE=registrar
# Services: platform (default, all in one process), edge-proxy, registrar, location, admin-api,
# demo-server. See deploy/README.md and docker-compose.yml.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full install (dev dependencies included), TypeScript build, then prune to prod ----
FROM ${NODE_IMAGE} AS build
# CI=true: pnpm never stops to ask before it rewrites node_modules (the --prod step below).
ENV CI=true
RUN npm install -g pnpm@10
WORKDIR /app

# Dependencies first, keyed on the lockfile alone, so a source change does not refetch them.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch

COPY . .
RUN pnpm install --offline --frozen-lockfile
RUN pnpm exec tsc -b
# Production dependencies only: every node_modules of the workspace is rebuilt from the store
# without the dev dependencies (TypeScript, Vitest, Biome, drizzle-kit…): 85 MB instead of 335.
# (`pnpm install --prod` over the full install would only unlink them and leave them in
# node_modules/.pnpm.) The dist/ directories built above stay where they are.
RUN find . -name node_modules -type d -prune -exec rm -rf {} + \
    && pnpm install --offline --frozen-lockfile --prod

# ---- runtime: the pruned workspace, a non-root user, one service per container ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
RUN install -d -o node -g node /app/data \
    && chmod 0755 /app/deploy/docker-entrypoint.sh
# The image's built-in unprivileged user (uid 1000). The code is root-owned and read-only to it;
# only /app/data (PGlite, one-process mode without DATABASE_URL) is writable.
USER node
# Contract defaults: SIP UDP/TCP 5060, TLS 5061, WS 8088, WSS 8089 (edge-proxy), admin API 8080.
EXPOSE 5060/udp 5060/tcp 5061/tcp 5070/udp 5070/tcp 8088/tcp 8089/tcp 8080/tcp
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD []
