# The service image: Fastify + Prisma client + pg, production dependencies only.
#   build:    docker build -t blueprint-app .
#   serve:    docker run -p 3000:3000 -e DATABASE_URL=... -e REDIS_URL=... blueprint-app
#   migrate:  docker run --rm -e DATABASE_URL=... blueprint-app node dist/src/db/migrate-cli.js
#             (once per deploy, before new tasks take traffic; needs neither the Prisma CLI nor its engine)
# NODE_IMAGE stays a public LTS slim image; tests may pass a local stand-in with --build-arg.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript and generate the Prisma client (dev dependencies live only here)
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
# Every workspace manifest, so `npm ci` accepts the lockfile; only the app workspace gets installed.
COPY package.json package-lock.json tsconfig.json ./
COPY app/package.json app/
COPY infra/package.json infra/
COPY packages/sdk/package.json packages/sdk/
COPY web/package.json web/
# Install scripts stay off: nothing the app needs compiles natively, and Prisma's would try to
# download engines (generate uses its bundled WASM, migrations use plain pg).
RUN npm ci --workspace app --include-workspace-root --ignore-scripts
COPY prisma prisma
COPY prisma.config.ts ./
COPY app app
RUN npm run db:generate --workspace app && npm run build --workspace app

# ---- deps: the production install, built apart so npm's cache never reaches the final image
FROM ${NODE_IMAGE} AS deps
WORKDIR /srv
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY app/package.json app/
COPY infra/package.json infra/
COPY packages/sdk/package.json packages/sdk/
COPY web/package.json web/
# --omit=optional as well: @prisma/client declares `prisma` and `typescript` as optional peers, which
# makes npm keep the whole Prisma CLI (~250 MB) in a --omit=dev install. The only runtime package it
# drops besides is pg-cloudflare (Cloudflare Workers sockets). The Prisma runtime carries a query
# compiler per database; the client generated for PostgreSQL loads only the postgresql ones.
# Type declarations and source maps are for compilers and debuggers, never loaded at run time; the
# OpenTelemetry packages ship both for four builds each (about 60% of their size).
RUN npm ci --workspace app --omit=dev --omit=optional --ignore-scripts \
  && find node_modules/@prisma/client/runtime -regextype posix-extended \
    -regex '.*/query_compiler_(fast|small)_bg\.(cockroachdb|mysql|sqlite|sqlserver)\..*' -delete \
  && find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
  && rm -rf /root/.npm

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# glibc raises its mmap threshold to the size of the largest block freed, so after the first
# argon2id hash (19 MiB) every later one comes from the heap arenas, one per libuv thread, and is
# never given back: ~150 MB of RSS after a few logins. A fixed threshold keeps large blocks mmapped
# and returned on free (docs/benchmarks.md, "Memory"). scripts/bench/service.ts sets the same.
ENV MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /srv/app
COPY --from=deps /srv/node_modules /srv/node_modules
COPY package.json /srv/package.json
COPY app/package.json ./package.json
COPY --from=build /src/app/dist ./dist
COPY prisma/migrations /srv/prisma/migrations
# A numeric user: uid 1000 is `node` in the official images and needs no passwd entry elsewhere.
# The code stays root-owned, so the service cannot modify itself. HOME is set because without a
# passwd entry os.homedir() throws, and the AWS SDK resolves ~/.aws on its first call.
ENV HOME=/tmp
USER 1000:1000
EXPOSE 3000
STOPSIGNAL SIGTERM
# No --start-period: the server listens within a second or two, well inside interval x retries (and
# dockerfilelint misreads the option). ECS and compose define their own checks on the same path.
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The telemetry preload starts OpenTelemetry before the service's modules load (a no-op without
# OTEL_EXPORTER_OTLP_ENDPOINT). A 16 MB semi-space caps the young generation, which Node 24 grows
# to 64 MB of new space under load by default, also inside a 2 GiB task's memory limit (measured):
# peak RSS under the benchmark's burst 327 MB with the default, 235 at 8 MB, 236 at 16; 16 instead
# of 8 cut the cached read's CPU per answer about 9% (fewer scavenges; docs/benchmarks.md, sixth pass).
CMD ["node", "--max-semi-space-size=16", "--import", "./dist/src/telemetry/register.js", "dist/src/server.js"]
