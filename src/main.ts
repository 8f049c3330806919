// Composition root: parses flags and config, builds the real clock, exec, logger, sources,
// proxier, sync runner and servers, and wires them. Nothing else constructs I/O objects.
export async function main(argv: readonly string[]): Promise<number> {
  void argv;
  console.error('kube-proxy-ts: not wired yet');
  return 1;
}
