# syntax=docker/dockerfile:1
# One image per service, chosen by the build argument SERVICE (gateway, reception, diagnosis,
# examination, patient-management, interop):
#   docker build --build-arg SERVICE=reception -t medical/reception .
# and the load generator of `npm run load`, which the Kubernetes load Job runs (deploy/k8s/load):
#   docker build --target load -t medical/load .
# The service image is the last stage, so a build without --target (deploy/compose.yaml) gets it.

# The base of every stage, pinned by the digest of its multi-platform index (Node.js 24.20.0 on
# Debian bookworm, as docker-library/repo-info recorded node:24-bookworm-slim on 2026-08-27): a
# rebuild gets the same bytes until this line is changed on purpose. To move it, take the new
# digest from `docker buildx imagetools inspect node:24-bookworm-slim`.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:ba849c60be29959425b8734d57b8b4b7d56f98edd9504c9af091d5281095a71e

# ---- production dependencies of the whole workspace ---------------------------------------------
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
# Every workspace's manifest, so `npm ci` sees the workspace the lockfile describes.
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY services/gateway/package.json services/gateway/
COPY services/reception/package.json services/reception/
COPY services/diagnosis/package.json services/diagnosis/
COPY services/examination/package.json services/examination/
COPY services/patient-management/package.json services/patient-management/
COPY services/interop/package.json services/interop/
COPY web/package.json web/
# Production dependencies only, exactly as locked; no install scripts (none of them has one, and
# test/deploy/dockerfile.test.ts keeps it so). The TypeScript sources run as they are (Node's
# type stripping): nothing to compile.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- the staff console (web/), built by Vite into static files the gateway serves ---------------
FROM ${NODE_IMAGE} AS console
WORKDIR /app
COPY package.json package-lock.json ./
COPY web/package.json web/
# The console's own dependencies (React, Vite, ...) as locked; none of them runs an install script.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --workspace web --include-workspace-root=false --ignore-scripts --no-audit --no-fund
COPY web ./web
RUN npm run -w web build

# ---- the load generator (scripts/load.ts): autocannon alone -------------------------------------
FROM ${NODE_IMAGE} AS load-dependencies
WORKDIR /app
COPY package-lock.json /tmp/package-lock.json
# autocannon at the version the repository's lockfile pins, without the other dev dependencies.
RUN --mount=type=cache,target=/root/.npm \
    version="$(node -p "require('/tmp/package-lock.json').packages['node_modules/autocannon'].version")" \
 && echo '{ "name": "medical-load", "private": true, "type": "module" }' > package.json \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund "autocannon@${version}"

FROM ${NODE_IMAGE} AS load
ENV NODE_ENV=production
WORKDIR /app
COPY --from=load-dependencies /app/package.json /app/package-lock.json ./
COPY --from=load-dependencies /app/node_modules ./node_modules
COPY scripts/load.ts scripts/
COPY scripts/lib/stats.ts scripts/lib/
USER node
# Arguments and LOAD_TARGET_URL as for `npm run load`; its exit code is the Job's outcome.
ENTRYPOINT ["node", "scripts/load.ts"]

# ---- one service (the default target) ----------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
LABEL org.opencontainers.image.title="medical/${SERVICE}" \
      org.opencontainers.image.description="medical visit workflow: the ${SERVICE} service" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
# The sources only: .dockerignore leaves the tests, the bench and the deployment files out.
COPY packages ./packages
COPY services ./services
# `npm run migrate` and then `npm run catalog:migrate` (the old free text to the catalog's codes),
# which the migration Job of each release runs from a service image (deploy/k8s/base/migrate):
# every service's code is here, so any service image can migrate all.
COPY scripts/migrate.ts scripts/catalog-migrate.ts scripts/
# `npm run purge` and `npm run restore`, which the nightly purge (deploy/k8s/base/purge) and a
# restore's reconciliation (deploy/k8s/restore, --reconcile-only) run the same way, and the one
# module of scripts/lib they import (the backups' layout; the rest is packages/ and services/).
# Not infra/: a restore in a cluster leaves PostgreSQL's recovery to CloudNativePG.
COPY scripts/purge.ts scripts/restore.ts scripts/
COPY scripts/lib/backups.ts scripts/lib/
# The built console, where the gateway looks for it by default (CONSOLE_DIR); a few hundred KiB
# in every image, so that one build serves all six.
COPY --from=console /app/web/dist ./web/dist
# A missing or misspelt SERVICE fails the build here, not the container at start-up.
RUN if [ ! -f "services/${SERVICE}/src/main.ts" ]; then \
      echo "SERVICE must name one of: $(ls services | tr '\n' ' ')(got '${SERVICE}')" >&2; exit 1; \
    fi \
 && mkdir -p /data && chown node:node /data
# The code stays root's and read-only to the service; only DATA_DIR (the embedded profile) is its own.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same command as `npm start` and the tests (scripts/lib/processes.ts); exec: the service
# itself is PID 1 and receives SIGTERM, and shuts down gracefully.
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]
