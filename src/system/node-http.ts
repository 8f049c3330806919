// node:http and node:https, loaded with require. An ESM `import … from 'node:http'` reads every
// export of the module to build its namespace, and Node 24's http exports lazy getters (WebSocket,
// CloseEvent, MessageEvent) whose read loads Node's bundled undici: ~750 KiB of source and ~9 MiB
// of RSS the daemon never uses (measured in an empty process: 57.8 vs 49.2 MiB; issue 14). require
// leaves the getters alone. Types still come from `import type … from 'node:http'`.
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof Http;
export const https = require('node:https') as typeof Https;
