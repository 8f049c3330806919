// Build step of deploy/image/assemble.sh: replace the compiled src/sources/client-node.js (a
// re-export of @kubernetes/client-node) with an esbuild bundle of just what it exports. A plain
// tree-shaken bundle keeps all of client-node (its index and config.js import the generated API,
// 17.6 MB of bundle; measured in issue 14's note), so the two modules the daemon never calls into
// are replaced by stubs that throw if ever used:
// - config.js's `./gen/index.js` (createConfiguration/ServerConfiguration, only for makeApiClient);
// - cache.js's `./serializer.js` (ObjectSerializer, only to serialise selector strings, an identity).
// client-node's own dependencies (undici, js-yaml, openid-client …) stay external, loaded from
// node_modules as before.   usage: node slim-client-node.mjs SRC_DIR DEST_DIR
import { join } from 'node:path';
import { build } from 'esbuild';

const [src, dest] = process.argv.slice(2);
if (!src || !dest) throw new Error('usage: slim-client-node.mjs SRC_DIR DEST_DIR');

const STUBS = {
  'config.js ./gen/index.js': `
    const unused = (what) => { throw new Error(\`\${what} is not in the image's client-node bundle (deploy/image/slim-client-node.mjs)\`); };
    export function createConfiguration() { unused('createConfiguration'); }
    export class ServerConfiguration { constructor() { unused('ServerConfiguration'); } }`,
  'cache.js ./serializer.js': `
    export const ObjectSerializer = { serialize: (value, type) => (type === 'string' ? value : (() => { throw new Error('ObjectSerializer is not in the image bundle'); })()) };`,
};

const slim = {
  name: 'slim-client-node',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const from = args.importer.replace(/^.*@kubernetes\/client-node\/dist\//, '');
      const stub = STUBS[`${from} ${args.path}`];
      if (stub !== undefined && args.importer.includes('@kubernetes/client-node/dist/')) return { path: `${from} ${args.path}`, namespace: 'stub' };
      // Only client-node itself is bundled; every other package is loaded from node_modules.
      const bare = !args.path.startsWith('.') && !args.path.startsWith('/') && !args.path.startsWith('node:');
      if (bare && !args.path.startsWith('@kubernetes/client-node')) return { path: args.path, external: true };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: STUBS[args.path], loader: 'js' }));
  },
};

await build({
  stdin: {
    contents: "export { HttpMethod, KubeConfig, ListWatch, RequestContext, Watch } from '@kubernetes/client-node';",
    // From the runtime tree: the bundle is of the client-node version the image installed.
    resolveDir: dest, sourcefile: 'client-node-slim.js',
  },
  bundle: true, platform: 'node', format: 'esm', target: 'node22', minify: true, legalComments: 'none',
  outfile: join(dest, 'src/sources/client-node.js'), allowOverwrite: true, plugins: [slim], logLevel: 'warning',
});
