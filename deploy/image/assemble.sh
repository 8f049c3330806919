#!/usr/bin/env bash
# Assemble the runtime tree of kube-proxy-ts from a source checkout: runtime dependencies only
# (npm ci --omit=dev, so no TypeScript, no pinned dev Node, no npm cache), the sources Node runs
# with type stripping, and the commit it was built from. The Dockerfile runs exactly this script,
# and test/image-assemble.test.ts runs it in a scratch directory so a broken step fails CI even
# though no Docker engine is available here.
#   usage: assemble.sh SRC_DIR DEST_DIR [COMMIT]
set -euo pipefail
src=$(cd "$1" && pwd)
dest=$2
commit=${3:-$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)}

mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
# koffi's native binary arrives as an optional dependency (@koromix/koffi-linux-x64 or -arm64):
# never --omit=optional.
(cd "$dest" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
npm cache clean --force --loglevel=error >/dev/null 2>&1 || echo "assemble: npm cache clean failed (ignored)" >&2
mkdir -p "$dest/src" "$dest/native" "$dest/bin"
cp -r "$src/bin/." "$dest/bin/"
# Sources without their tests or test support (which import vitest and fast-check, absent here;
# test/image-assemble.test.ts imports every copied module to prove nothing needs them).
(cd "$src" && find src native -name '*.ts' ! -name '*.test.ts' ! -name '*.test-support.ts' ! -path '*/testing/*' -print0 \
  | xargs -0 -I{} cp --parents {} "$dest/")
printf '%s\n' "$commit" > "$dest/COMMIT"
echo "assembled kube-proxy-ts $commit in $dest"
