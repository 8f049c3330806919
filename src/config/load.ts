// The one place configuration touches the disk: reading the `--config` file. Everything after
// the read (YAML, defaulting, validation) is pure and lives in decode.ts / validate.ts.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { decodeConfigText, type DecodeResult } from './decode.ts';

/**
 * Read a file's text; failures become ConfigError KP_ERR_CONFIG_READ naming the path. Synchronous
 * on purpose: it runs once, before anything else is started, and keeps the CLI parser synchronous.
 */
export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? `cannot read file (${String(err.code)})` : 'cannot read file';
    throw new ConfigError(path, reason, { cause: err, code: 'KP_ERR_CONFIG_READ' });
  }
}

/** Read and decode a KubeProxyConfiguration file (not yet merged with flags or validated). */
export function loadConfigFile(path: string): DecodeResult {
  return decodeConfigText(readConfigFile(path));
}
