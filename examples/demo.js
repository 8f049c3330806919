#!/usr/bin/env node
// `npm run demo` entry: as bin/kube-proxy-ts.js, one clear line on a Node too old to strip types,
// then the demo itself (examples/demo.ts).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(`demo: Node ${process.versions.node} is too old; it needs Node >= 22.19 (run it through npm: \`sudo npm run demo\`)`);
  process.exit(1);
}
await import('./demo.ts');
