# syntax=docker/dockerfile:1
# One image per service: docker build --build-arg SERVICE=reception -t medical/reception .
# (SERVICE: gateway, reception, diagnosis, examination, patient-management)

FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY services/gateway/package.json services/gateway/
COPY services/reception/package.json services/reception/
COPY services/diagnosis/package.json services/diagnosis/
COPY services/examination/package.json services/examination/
COPY services/patient-management/package.json services/patient-management/
# Production dependencies only; the TypeScript sources run as they are (Node's type stripping).
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ARG SERVICE=gateway
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
COPY services ./services
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# exec: the service itself receives SIGTERM and shuts down gracefully.
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]
