// Which build this is: the package version and the commit (written to COMMIT by
// deploy/image/assemble.sh, so the image's --version names its commit; `dev` in a checkout).
import { readFileSync } from 'node:fs';

function readOr(url: URL, fallback: string): string {
  try {
    return readFileSync(url, 'utf8').trim();
  } catch (err) {
    void err; // absent in a development checkout: not an error
    return fallback;
  }
}

export interface VersionInfo {
  readonly version: string;
  readonly commit: string;
}

export function versionInfo(): VersionInfo {
  const pkg = JSON.parse(readOr(new URL('../package.json', import.meta.url), '{}')) as { version?: string };
  return { version: pkg.version ?? '0.0.0', commit: readOr(new URL('../COMMIT', import.meta.url), 'dev') };
}

export function versionLine(): string {
  const v = versionInfo();
  return `kube-proxy-ts v${v.version} (commit ${v.commit}, node ${process.versions.node})`;
}
