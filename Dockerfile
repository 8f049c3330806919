# kube-proxy-ts image: drop-in for registry.k8s.io/kube-proxy (same /usr/local/bin/kube-proxy path,
# same flags, same ConfigMap). Build: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
# The install steps live in deploy/image/assemble.sh, which CI runs too (test/image-assemble.test.ts).

FROM node:24-bookworm-slim AS build
ARG GIT_COMMIT=unknown
WORKDIR /src
COPY . .
RUN deploy/image/assemble.sh /src /opt/kube-proxy-ts "$GIT_COMMIT"

FROM node:24-bookworm-slim
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="kube-proxy-ts" \
      org.opencontainers.image.description="Drop-in replacement for kube-proxy, in TypeScript" \
      org.opencontainers.image.source="kube-proxy-ts" \
      org.opencontainers.image.revision="${GIT_COMMIT}"
# nftables for --proxy-mode nftables (nft -f -). iptables ships both back-ends (legacy and nft); the daemon picks one the way upstream's
# iptables-wrapper does (src/system/iptables-backend.ts). ipset/kmod for ipvs mode, conntrack for
# UDP clean-up. No compilers, no npm: the runtime needs node and these tools only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables nftables ipset conntrack kmod iproute2 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /root/.npm
COPY --from=build /opt/kube-proxy-ts /opt/kube-proxy-ts
RUN ln -s /opt/kube-proxy-ts/bin/kube-proxy-ts.js /usr/local/bin/kube-proxy \
 && ln -s /opt/kube-proxy-ts/bin/kube-proxy-ts.js /usr/local/bin/kube-proxy-ts
# V8 grows its young generation to 2 x 64 MiB while a large state is built (10k Services x 10
# endpoints) and keeps it: half the daemon's peak RSS at that size. 2 MiB semi-spaces cost nothing
# measurable in sync time and save ~130 MiB (npm run bench -- iptables.bench, BENCH_COMPARE_FLAGS).
# --optimize-for-size is not set: it lowers the steady RSS by ~30 MiB but not reliably the peak, and
# doubles the CPU of the state build and render (docs/operations.md, Memory).
ENV NODE_OPTIONS="--max-semi-space-size=2"
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
