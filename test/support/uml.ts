// Runs a command inside the IPVS test kernel (Debian's user-mode-linux), because the development
// kernel has neither IPVS nor the dummy link type (DEVELOPERS.md, "Safety of the machine").
//
// The UML kernel mounts the host's / through hostfs, so the command sees the same files; every
// network change it makes happens in the UML kernel's own namespaces and never touches the host.
// Writes through hostfs DO reach the host disk, so the init script only writes under its own
// temp dir and mounts tmpfs over /run (ip netns state) inside the guest.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const UML_KERNEL = '/usr/bin/linux.uml';
export const UML_MODULES = '/usr/lib/uml/modules';
/** Modules loaded before the command runs; other schedulers load on demand via the modprobe wrapper. */
export const UML_DEFAULT_MODULES = [
  'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_sh', 'dummy', 'veth', 'nf_conntrack',
] as const;

export interface UmlRunOptions {
  /** argv of the command; the first element should be an absolute path (PATH is the Debian default). */
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Whole-run limit including boot; the UML processes are killed when it passes. Default 120 s. */
  readonly timeoutMs?: number;
  /** Working directory inside the guest (same path on the host). Default: process.cwd(). */
  readonly cwd?: string;
  /** Guest memory, e.g. '1G'. */
  readonly mem?: string;
  readonly modules?: readonly string[];
  /** false: the kernel cannot load modules on demand (to test "IPVS missing" paths). Default true. */
  readonly autoload?: boolean;
}

export interface UmlRunResult {
  /** Exit code of the command (not of the kernel). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Parsed contents of the file named by $KPT_UML_RESULT, if the command wrote one. */
  readonly resultJson: unknown;
  /** Kernel console output (boot log, module messages), for diagnosing failures. */
  readonly console: string;
}

/** Why the UML runner cannot run here, or null when it can. */
export function umlMissing(): string | null {
  if (!existsSync(UML_KERNEL)) return `needs the IPVS test kernel ${UML_KERNEL} (Debian package user-mode-linux)`;
  if (!existsSync(UML_MODULES)) return `needs the UML modules in ${UML_MODULES}`;
  return null;
}

/** Quote one word for /bin/sh. */
export function shQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function initScript(dir: string, o: UmlRunOptions, modules: readonly string[]): string {
  const envLines = Object.entries({ ...o.env, KPT_UML_RESULT: join(dir, 'result.json') }).map(
    ([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`uml: bad env name ${k}`);
      return `export ${k}=${shQuote(v)}`;
    },
  );
  const mod = join(dir, 'modroot');
  return [
    '#!/bin/sh',
    'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sys /sys',
    // /run and /dev/shm are host directories seen through hostfs: shadow them so `ip netns add`
    // and shared memory stay inside the guest.
    'mount -t tmpfs tmpfs /run',
    'mount -t tmpfs tmpfs /dev/shm 2>/dev/null',
    // The host has no /lib/modules and hostfs writes would create one on the host: build the
    // module tree in a tmpfs under our temp dir and point modprobe (and the kernel's
    // request_module, via /proc/sys/kernel/modprobe) at it with -d.
    `M=${shQuote(mod)}`,
    'K=$(uname -r)',
    'mount -t tmpfs tmpfs "$M"',
    'mkdir -p "$M/lib/modules/$K"',
    `mount --bind ${shQuote(UML_MODULES)}/"$K" "$M/lib/modules/$K"`,
    `printf '#!/bin/sh\\nexec /usr/sbin/modprobe -d %s "$@"\\n' "$M" > ${shQuote(join(dir, 'modprobe'))}`,
    `chmod +x ${shQuote(join(dir, 'modprobe'))}`,
    `echo ${o.autoload === false ? '/bin/false' : shQuote(join(dir, 'modprobe'))} > /proc/sys/kernel/modprobe`,
    modules.length === 0
      ? ':'
      : `/usr/sbin/modprobe -d "$M" -a ${modules.map(shQuote).join(' ')} > ${shQuote(join(dir, 'modprobe.log'))} 2>&1`,
    'ip link set lo up',
    ...envLines,
    `cd ${shQuote(o.cwd ?? process.cwd())}`,
    `${o.command.map(shQuote).join(' ')} > ${shQuote(join(dir, 'stdout'))} 2> ${shQuote(join(dir, 'stderr'))} < /dev/null`,
    `echo $? > ${shQuote(join(dir, 'code.tmp'))}`,
    `mv ${shQuote(join(dir, 'code.tmp'))} ${shQuote(join(dir, 'code'))}`,
    'cd /',
    'umount "$M/lib/modules/$K" "$M"',
    'sync',
    'halt -f',
    '',
  ].join('\n');
}

function readOr(path: string, fallback: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : fallback;
}

/** Boot the test kernel, run `command` as root inside it, and return its exit code and output. */
export async function runInUml(o: UmlRunOptions): Promise<UmlRunResult> {
  const why = umlMissing();
  if (why !== null) throw new Error(`uml: ${why}`);
  if (o.command.length === 0) throw new Error('uml: empty command');
  const dir = mkdtempSync(join(tmpdir(), 'kpt-uml-'));
  if (/\s/.test(dir)) throw new Error(`uml: temp dir has whitespace: ${dir}`);
  try {
    const init = join(dir, 'init.sh');
    writeFileSync(init, initScript(dir, o, o.modules ?? UML_DEFAULT_MODULES), { mode: 0o755 });
    const umid = `kpt-${process.pid}-${dir.slice(-6)}`;
    const args = [
      `mem=${o.mem ?? '1G'}`, 'rootfstype=hostfs', 'rootflags=/', 'rw', `init=${init}`,
      `umid=${umid}`, `uml_dir=${join(dir, 'uml')}`, 'con=null', 'con0=fd:0,fd:1', 'ssl=null',
    ];
    const consoleOut = await boot(args, o.timeoutMs ?? 120_000, dir);
    const codeText = readOr(join(dir, 'code'), '');
    if (codeText === '') {
      throw new Error(`uml: command did not finish (no exit code); console tail:\n${consoleOut.slice(-3000)}`);
    }
    const resultText = readOr(join(dir, 'result.json'), '');
    return {
      code: Number.parseInt(codeText.trim(), 10),
      stdout: readOr(join(dir, 'stdout'), ''),
      stderr: readOr(join(dir, 'stderr'), ''),
      resultJson: resultText === '' ? undefined : (JSON.parse(resultText) as unknown),
      console: consoleOut,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Start linux.uml in its own process group (it forks helper processes for guest userspace) and
 * wait for it to halt; on timeout kill that group — only processes this call started.
 */
function boot(args: readonly string[], timeoutMs: number, dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(UML_KERNEL, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir, HOME: dir },
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    let timedOut = false;
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch (err) {
        // ESRCH: the group already exited between the timer firing and the kill.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`uml: cannot start ${UML_KERNEL}: ${e.message}`, { cause: e }));
    });
    child.on('close', () => {
      clearTimeout(timer);
      // Helper processes may outlive the kernel thread briefly when it is killed.
      killGroup();
      const out = Buffer.concat(chunks).toString('utf8');
      if (timedOut) reject(new Error(`uml: timed out after ${timeoutMs} ms; console tail:\n${out.slice(-3000)}`));
      else resolve(out);
    });
  });
}
