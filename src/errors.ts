// One module of typed errors with stable codes (the undici/fastify pattern): every failure the
// daemon reports has a `code` a runbook can grep for, and wraps what caused it in `cause`.

export type ErrorCode =
  | 'KP_ERR_CONFIG_INVALID'
  | 'KP_ERR_CONFIG_READ'
  | 'KP_ERR_FLAG_INVALID'
  | 'KP_ERR_MANIFEST_INVALID'
  | 'KP_ERR_OBJECT_INVALID'
  | 'KP_ERR_KUBECONFIG'
  | 'KP_ERR_API'
  | 'KP_ERR_RULES_APPLY'
  | 'KP_ERR_EXEC'
  | 'KP_ERR_NETLINK'
  | 'KP_ERR_NATIVE'
  | 'KP_ERR_KERNEL_MISSING'
  | 'KP_ERR_SYNC'
  | 'KP_ERR_SERVER'
  | 'KP_ERR_TRACE_INPUT';

const brand = Symbol.for('kube-proxy-ts.error');

export class KubeProxyError extends Error {
  readonly code: ErrorCode;
  readonly [brand] = true;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
  static is(value: unknown): value is KubeProxyError {
    return typeof value === 'object' && value !== null && (value as { [brand]?: boolean })[brand] === true;
  }
}

/** A configuration problem; `path` is the field path (`iptables.masqueradeBit`) or flag (`--proxy-mode`). */
export class ConfigError extends KubeProxyError {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? 'KP_ERR_CONFIG_INVALID', `${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A Kubernetes object (Service, EndpointSlice, Node) that is dropped; `key` is `Kind ns/name`. */
export class ObjectError extends KubeProxyError {
  readonly key: string;
  constructor(key: string, reason: string, options?: { cause?: unknown }) {
    super('KP_ERR_OBJECT_INVALID', `${key}: ${reason}`, options);
    this.key = key;
  }
}

/** A manifest file that does not parse; `file` and `line` (1-based, 0 when unknown) locate it. */
export class ManifestError extends KubeProxyError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, reason: string, options?: { cause?: unknown }) {
    super('KP_ERR_MANIFEST_INVALID', `${file}${line > 0 ? `:${line}` : ''}: ${reason}`, options);
    this.file = file;
    this.line = line;
  }
}

/** A command (iptables-restore, ipset, conntrack …) that failed; stderr is kept for the log. */
export class ExecError extends KubeProxyError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: string, exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    super('KP_ERR_EXEC', `${command}: exit ${exitCode ?? 'signal'}: ${stderr.trim().split('\n')[0] ?? ''}`, options);
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Bad input to `kube-proxy-ts trace`/`status` (address, dump, mode): one line, exit 2. */
export class TraceInputError extends KubeProxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KP_ERR_TRACE_INPUT', message, options);
  }
}

/** A kernel error from netlink (`errno` is positive, `errnoName` like `EEXIST`). */
export class NetlinkError extends KubeProxyError {
  readonly errno: number;
  readonly errnoName: string;
  constructor(what: string, errno: number, errnoName: string, extack?: string, options?: { cause?: unknown }) {
    super('KP_ERR_NETLINK', `${what}: ${errnoName}${extack ? ` (${extack})` : ''}`, options);
    this.errno = errno;
    this.errnoName = errnoName;
  }
}

/** Render an error for a single log line or a CLI exit: the message and the chain of causes. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    parts.push(cur instanceof Error ? cur.message : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': caused by: ');
}
