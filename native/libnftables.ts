// libnftables (Debian package libnftables1, the library the nft command is built on), declared
// through koffi, so a transaction costs no nft process start. Measured at 10k Services
// (bench/nftables-one-change.probe.ts): one endpoint change 244 ms p50 through `nft -f -` against
// 135 ms here. Calls run on koffi's worker thread (the event loop is never blocked, a 30k full
// sync takes minutes) one at a time.
// A context per transaction, freed after it, then malloc_trim(3): a context keeps nft's cache of
// the table (~100 MiB at 10k Services × 10 endpoints), and parsing a 10k full sync leaves ~200 MiB
// freed but held by malloc; kept, the daemon in nftables mode stayed at ~560 MiB RSS after its
// first sync (bench daemon-memory, BENCH_MODES=nftables), ~300 MiB above what it needs. Partial
// syncs go through our netlink writer, so what a kept context saved (the cache refetch) no
// longer pays for that memory.
import koffi from 'koffi';

export interface LibNftables {
  /** Run `text` as `nft -f` would (dryRun: as `nft --check -f`); resolves to nft's error text, '' when accepted. */
  run(text: string, dryRun: boolean): Promise<string>;
}

/** The library, or why libnftables.so.1 cannot be used (the nft command is used then). */
export function loadLibNftables(): LibNftables | { unavailable: string } {
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libnftables.so.1');
  } catch (err) {
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
  const Ctx = koffi.pointer('nft_ctx', koffi.opaque());
  const ctxNew = lib.func('nft_ctx_new', Ctx, ['uint32_t']);
  const bufferOutput = lib.func('nft_ctx_buffer_output', 'int', [Ctx]);
  const bufferError = lib.func('nft_ctx_buffer_error', 'int', [Ctx]);
  const errorBuffer = lib.func('nft_ctx_get_error_buffer', 'str', [Ctx]);
  const setDryRun = lib.func('nft_ctx_set_dry_run', 'void', [Ctx, 'bool']);
  const runBuffer = lib.func('nft_run_cmd_from_buffer', 'int', [Ctx, 'str']);
  const ctxFree = lib.func('nft_ctx_free', 'void', [Ctx]);
  const mallocTrim = koffi.load('libc.so.6').func('malloc_trim', 'int', ['size_t']);
  const open = (): unknown => {
    const ctx: unknown = ctxNew(0);
    if (ctx === null) return null;
    // Buffered: nothing is printed on our stdout/stderr (--dry-run owns stdout); errors are read back.
    bufferOutput(ctx);
    bufferError(ctx);
    return ctx;
  };
  const probe = open();
  if (probe === null) return { unavailable: 'nft_ctx_new returned NULL' };
  ctxFree(probe);
  let queue: Promise<unknown> = Promise.resolve();
  const once = (text: string, dryRun: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const ctx = open();
      if (ctx === null) {
        reject(new Error('nft_ctx_new returned NULL'));
        return;
      }
      setDryRun(ctx, dryRun);
      runBuffer.async(ctx, text, (err: unknown, rc: number) => {
        const msg = err ? '' : String(errorBuffer(ctx) ?? '');
        ctxFree(ctx);
        // On the worker too: trimming a heap of a few hundred MiB takes milliseconds.
        mallocTrim.async(0, () => {
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve(rc === 0 ? '' : msg === '' ? `libnftables: exit ${rc}` : msg);
        });
      });
    });
  return {
    run(text, dryRun) {
      const next = queue.then(() => once(text, dryRun));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
