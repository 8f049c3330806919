// Restore lines gathered into chunks of CHUNK lines: the many small per-line strings die young
// (cheap scavenges) once joined, and the payload generator (render-assemble.ts) hands each chunk
// to iptables-restore's stdin as soon as it is full, so only a few chunks are alive at a time.
// 512 lines is ~45 KB: below V8's 128 KiB large-object threshold, so a chunk is made in the young
// generation and dies there. 2048-line chunks (~180 KB) went to large-object space, which only a
// full GC frees: ~21 MiB of spent chunks were still held at the end of a 10k full sync.
const CHUNK = 512;

export class LineChunks {
  /** Lines not yet taken; writers may push to it directly (it is never replaced). */
  readonly buffer: string[] = [];
  readonly #size: number;

  /** `size`: lines per chunk (smaller for a reader that allocates much per line: the drift digest). */
  constructor(size = CHUNK) {
    this.#size = size;
  }

  push(line: string): void {
    this.buffer.push(line);
  }

  /** Whether a chunk's worth of lines is waiting. */
  get full(): boolean {
    return this.buffer.length >= this.#size;
  }

  /** The waiting lines as one newline-terminated string ('' when none); the buffer is emptied. */
  take(): string {
    if (this.buffer.length === 0) return '';
    // A trailing '' gives the chunk its final newline without another concatenation.
    this.buffer.push('');
    const text = this.buffer.join('\n');
    this.buffer.length = 0;
    return text;
  }
}
