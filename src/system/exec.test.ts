// exec with real child processes (no netfilter): string input, chunked input with back-pressure,
// a child that stops reading early, and a chunk source that fails.
import { describe, expect, it } from 'vitest';
import { ExecError } from '../errors.ts';
import { exec } from './exec.ts';

function* big(n: number, size: number): Generator<string> {
  for (let i = 0; i < n; i++) yield `${String(i % 10).repeat(size - 1)}\n`;
}

describe('exec', () => {
  it.each([
    ['a string', 'one\ntwo\n'],
    ['an array of chunks', ['one\n', 'tw', 'o\n']],
    ['a generator', (function* () { yield 'one\n'; yield 'two\n'; })()],
    ['an async generator', (async function* () { yield 'one\n'; yield 'two\n'; })()],
  ])('writes %s to stdin in order', async (_name, input) => {
    expect((await exec('cat', [], { input })).stdout).toBe('one\ntwo\n');
  });

  it('streams a payload far larger than the pipe, and asks a lazy source only as the child reads', async () => {
    let pulled = 0;
    function* counted(): Generator<string> {
      for (const c of big(300, 100_000)) {
        pulled++;
        yield c;
      }
    }
    const { stdout } = await exec('wc', ['-c'], { input: counted() });
    expect(Number(stdout.trim())).toBe(300 * 100_000);
    expect(pulled).toBe(300);
  });

  it('a child that exits before reading everything is judged by its exit code', async () => {
    expect((await exec('head', ['-c', '5'], { input: big(100, 100_000) })).stdout).toBe('00000');
    await expect(exec('sh', ['-c', 'exit 3'], { input: big(100, 100_000) })).rejects.toBeInstanceOf(ExecError);
  });

  it('a failing chunk source kills the child and rejects with its error', async () => {
    function* failing(): Generator<string> {
      yield 'partial\n';
      throw new Error('render failed');
    }
    // `cat` would exit 0 on end of input: only the kill keeps a half payload from counting.
    await expect(exec('sh', ['-c', 'cat >/dev/null; exit 0'], { input: failing() })).rejects.toThrow('render failed');
  });

  it('pauses stdout while an onStdout reader is busy (a paced reader), and still gets every byte', async () => {
    let busy = false;
    let overlapped = false;
    let bytes = 0;
    let pauses = 0;
    await exec('head', ['-c', '300000', '/dev/zero'], {
      onStdout: (b) => {
        if (busy) overlapped = true;
        bytes += b.length;
        busy = true;
        pauses++;
        return new Promise<void>((resolve) => setTimeout(() => { busy = false; resolve(); }, 2));
      },
    });
    expect(bytes).toBe(300000);
    expect(pauses).toBeGreaterThan(1);
    expect(overlapped).toBe(false);
  });

  it('ends with the error of a paced reader that fails', async () => {
    await expect(exec('head', ['-c', '300000', '/dev/zero'], { onStdout: () => Promise.reject(new Error('digest failed')) })).rejects.toThrow('digest failed');
  });
});
