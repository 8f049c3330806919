// /statusz and /flagz as component-base's zpages write them (k8s.io/component-base/zpages/statusz
// and flagz, installed by upstream kube-proxy on its metrics mux): plain text, a header that warns
// the page is not machine-parseable, and one of four delimiters picked at random per response so
// that nobody parses it anyway. Only text/plain is served (the structured config.k8s.io Statusz
// and Flagz kinds are not); another Accept is 406, as upstream's AcceptableMediaType. Pure.

export const ZPAGE_DELIMITERS = [':', ': ', '=', ' '] as const;

/** Upstream's ErrUnsupportedMediaType text. */
export const NOT_ACCEPTABLE = 'media type not acceptable, must be: text/plain';

function header(component: string, page: string): string {
  return `\n${component} ${page}\nWarning: This endpoint is not meant to be machine parseable, has no formatting compatibility guarantees and is for debugging purposes only.\n`;
}

/**
 * Whether an Accept header allows text/plain: absent, or a media range of text/plain, text/* or
 * *\/* with no parameter but charset=utf-8 (httputil.AcceptableMediaType).
 */
export function acceptsPlainText(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (!['text/plain', 'text/*', '*/*'].includes(type)) return false;
    const rest = params.filter((p) => !p.startsWith('q='));
    return rest.length === 0 || (rest.length === 1 && rest[0]?.replace(/\s/g, '') === 'charset=utf-8');
  });
}

/** Go's time.UnixDate layout, in UTC: `Mon Jan _2 15:04:05 UTC 2006`. */
export function unixDate(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${day} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} UTC ${d.getUTCFullYear()}`;
}

/** `H hr MM min SS sec`, as statusz's uptime(). */
export function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)} hr ${two(Math.floor(s / 60) % 60)} min ${two(s % 60)} sec`;
}

export interface StatuszInput {
  readonly component: string;
  readonly startedMs: number;
  readonly nowMs: number;
  /** Where statusz says "Go version": the runtime this binary runs on. */
  readonly runtimeVersion: string;
  readonly binaryVersion: string;
  /** The paths the server serves, listed as upstream does since v1.35 (kubernetes#133190). */
  readonly paths: readonly string[];
  readonly delimiter: string;
}

export function renderStatusz(i: StatuszInput): string {
  const d = i.delimiter;
  return `${header(i.component, 'statusz')}
Started${d} ${unixDate(i.startedMs)}
Up${d} ${uptime(i.nowMs - i.startedMs)}
Node.js version${d} ${i.runtimeVersion}
Binary version${d} ${i.binaryVersion}
Paths${d} ${[...i.paths].sort().join(' ')}
`;
}

export function renderFlagz(component: string, flags: Readonly<Record<string, string>>, delimiter: string): string {
  const lines = Object.keys(flags)
    .sort()
    .map((k) => `${k}${delimiter}${flags[k] ?? ''}\n`);
  return `${header(component, 'flagz')}${lines.join('')}`;
}
