// Lint: type-aware TypeScript rules plus the purity rule of DEVELOPERS.md — model, config, sync,
// netlink codec and backend planners/renderers import no node:*, koffi, client-node, pino, yargs
// or prom-client values (type-only imports are fine). I/O lives in named shells only.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const builtins = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'https', 'net', 'os', 'path', 'process', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', performance: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/**/*.ts', 'native/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'max-lines': ['error', { max: 500, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // The pure core.
    files: [
      'src/model/**/*.ts',
      'src/config/**/*.ts',
      'src/sync/**/*.ts',
      'src/netlink/**/*.ts',
      'src/backends/**/*.ts',
      'src/trace/**/*.ts',
      'src/status/**/*.ts',
    ],
    ignores: ['**/*.test.ts', 'src/config/load.ts', 'src/**/*-applier.ts', 'src/backends/*/io/**', 'src/trace/io/**', 'src/status/io/**'],
    rules: {
      'no-restricted-globals': ['error', 'process', 'Buffer', 'setTimeout', 'setInterval', 'fetch'],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', ...builtins, 'koffi', '@kubernetes/client-node', 'pino', 'yargs', 'yargs/*', 'prom-client'],
              allowTypeImports: true,
              message: 'pure module: inject the dependency instead (DEVELOPERS.md, "Pure core, thin shell")',
            },
            {
              group: ['**/native/**', '**/system/**', '**/server/**', '**/sources/**'],
              allowTypeImports: true,
              message: 'pure module: shells are injected, not imported',
            },
          ],
        },
      ],
    },
  },
);
