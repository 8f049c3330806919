// Issue 13, defect 6: npm 11 runs a dependency's install scripts only when package.json's
// allowScripts approves them (and warns about the rest on every `npm ci`). Without node's
// preinstall the pinned runtime does not install, without koffi's install its native binary is
// not placed. The approvals must cover exactly the packages of package-lock.json that have install
// scripts: one missing is a warning today and a broken install once npm refuses; one extra approves
// a script nobody reviewed.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const read = (file: string): unknown => JSON.parse(readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), 'utf8'));

interface LockEntry {
  readonly version?: string;
  readonly hasInstallScript?: boolean;
}

/** `node_modules/a/node_modules/@s/b` → `@s/b`: the package an approval names. */
function packageName(path: string): string {
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

/** An allowScripts key is `name`, or `name@range` for an approval pinned to versions. */
function approvedName(key: string): string {
  const at = key.indexOf('@', 1);
  return at === -1 ? key : key.slice(0, at);
}

describe('allowScripts in package.json', () => {
  const pkg = read('package.json') as { allowScripts?: Record<string, boolean> };
  const lock = read('package-lock.json') as { packages: Record<string, LockEntry> };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, entry]) => path !== '' && entry.hasInstallScript === true)
    .map(([path]) => packageName(path));

  it('approves exactly the locked packages that have install scripts', () => {
    const approved = Object.entries(pkg.allowScripts ?? {})
      .filter(([, allow]) => allow)
      .map(([key]) => approvedName(key));
    expect([...new Set(approved)].sort()).toEqual([...new Set(withScripts)].sort());
  });

  it('those are the runtime, the FFI library and the bundler vitest uses, reviewed for this change', () => {
    // A new dependency with an install script fails here until someone has read that script.
    expect([...new Set(withScripts)].sort()).toEqual(['esbuild', 'koffi', 'node']);
  });

  it('denies nothing that the install needs', () => {
    const denied = Object.entries(pkg.allowScripts ?? {}).filter(([, allow]) => !allow).map(([key]) => approvedName(key));
    expect(denied.filter((name) => withScripts.includes(name))).toEqual([]);
  });
});
