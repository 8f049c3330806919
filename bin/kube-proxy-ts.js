#!/usr/bin/env node
// Entry point. The sources are TypeScript run through Node's built-in type stripping (Node >= 22.18
// strips without a flag); `npm start`, `npx kube-proxy-ts` and every npm script use the pinned
// Node 24 from devDependencies, so an older system Node gets one clear line instead of a stack.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `kube-proxy-ts: Node ${process.versions.node} is too old; it needs Node >= 22.19 ` +
      '(run it through npm: `npm start -- FLAGS` or `npx kube-proxy-ts FLAGS`)',
  );
  process.exit(1);
}
const { main } = await import('../src/main.ts');
// Exit explicitly: after a shutdown, a sync left running (or any handle) must not keep the process
// alive. Writes to stdout/stderr are synchronous on Linux (files, pipes, TTYs), so nothing is lost.
process.exit(await main(process.argv.slice(2)));
