// Run inside a namespace by test/support/daemon.ts: `node daemon-http-get.ts URL TIMEOUT_MS` prints
// one JSON line, `{"status":200,"body":"..."}` or `{"error":"ECONNREFUSED"}`, and always exits 0 so
// the caller can poll a server that is not up yet.
const [url = '', timeout = '2000'] = process.argv.slice(2);

function errorCode(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
  return cause?.code ?? (err instanceof Error ? err.name : String(err));
}

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(Number(timeout)) });
  console.log(JSON.stringify({ status: res.status, body: await res.text() }));
} catch (err) {
  console.log(JSON.stringify({ error: errorCode(err) }));
}
