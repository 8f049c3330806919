#!/usr/bin/env node
// Entry point. In a checkout the sources are TypeScript run through Node's built-in type stripping
// (Node >= 22.18 strips without a flag); `npm start`, `npx kube-proxy-ts` and every npm script use
// the pinned Node 24 from devDependencies, so an older system Node gets one clear line, not a stack.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `kube-proxy-ts: Node ${process.versions.node} is too old; it needs Node >= 22.19 ` +
      '(run it through npm: `npm start -- FLAGS` or `npx kube-proxy-ts FLAGS`)',
  );
  process.exit(1);
}
// A checkout runs the TypeScript sources; the image ships them compiled to JavaScript beside no .ts
// (deploy/image/assemble.sh), which saves the ~35 MiB type stripping costs at run time.
const { existsSync } = await import('node:fs');
const entry = existsSync(new URL('../src/main.ts', import.meta.url)) ? '../src/main.ts' : '../src/main.js';
const { main } = await import(entry);
// Exit explicitly: after a shutdown, a sync left running (or any handle) must not keep the process
// alive. Writes to stdout/stderr are synchronous on Linux (files, pipes, TTYs), so nothing is lost.
process.exit(await main(process.argv.slice(2)));
