#!/usr/bin/env bash
# Assemble the runtime tree of kube-proxy-ts from a source checkout: runtime dependencies only
# (npm ci --omit=dev, so no TypeScript, no pinned dev Node, no npm cache), the sources compiled to
# JavaScript (no .ts ships: Node's type stripping costs ~35 MiB of RSS at run time, a quarter of the
# proxier's at 10k Services), and the commit it was built from. The Dockerfile runs exactly this script,
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
mkdir -p "$dest/bin"
cp -r "$src/bin/." "$dest/bin/"
# Compile src/ and native/ into DEST/src and DEST/native with tsc from the checkout's dev
# dependencies (installed here if absent, as in the image's build stage). The output keeps the
# sources' layout, so paths relative to a module (../package.json, ./relay-worker.js) hold. Tests and
# test support are left out (tsconfig.build.json); test/image-assemble.test.ts imports every emitted
# module to prove nothing needs them.
if [ ! -x "$src/node_modules/.bin/tsc" ]; then
  (cd "$src" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$src/node_modules/.bin/tsc" -p "$src/tsconfig.build.json" --outDir "$dest" --sourceMap false
printf '%s\n' "$commit" > "$dest/COMMIT"
echo "assembled kube-proxy-ts $commit in $dest"
