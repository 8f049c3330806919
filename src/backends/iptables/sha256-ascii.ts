// SHA-256 of an ASCII string, first 80 bits, without TextEncoder, Uint8Array or object
// allocation per call. Chain names hash ~110k short strings per cold full render at 10k × 10;
// the general-purpose hasher spent more time encoding and allocating than compressing.
// Returns undefined for non-ASCII input so the caller can use the general hasher.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
const H = new Int32Array(8);

function compress(): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15] as number;
    const w2 = W[t - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = ((W[t - 16] as number) + s0 + (W[t - 7] as number) + s1) | 0;
  }
  let a = H[0] as number, b = H[1] as number, c = H[2] as number, d = H[3] as number;
  let e = H[4] as number, f = H[5] as number, g = H[6] as number, h = H[7] as number;
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (K[t] as number) + (W[t] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0] as number) + a; H[1] = (H[1] as number) + b; H[2] = (H[2] as number) + c; H[3] = (H[3] as number) + d;
  H[4] = (H[4] as number) + e; H[5] = (H[5] as number) + f; H[6] = (H[6] as number) + g; H[7] = (H[7] as number) + h;
}

/**
 * The first three big-endian words of sha256(s) (96 bits; callers use 80), written to `out`;
 * false when `s` is not ASCII.
 */
export function sha256AsciiHead(s: string, out: Int32Array): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return false;
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85 | 0; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a | 0;
  H[4] = 0x510e527f; H[5] = 0x9b05688c | 0; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  // Message + 0x80 + zero padding + 64-bit bit length, in 64-byte blocks.
  const total = (((n + 8) >> 6) + 1) << 6;
  for (let block = 0; block < total; block += 64) {
    for (let w = 0; w < 16; w++) {
      let word = 0;
      for (let k = 0; k < 4; k++) {
        const i = block + w * 4 + k;
        const byte = i < n ? s.charCodeAt(i) : i === n ? 0x80 : 0;
        word = (word << 8) | byte;
      }
      W[w] = word;
    }
    if (block + 64 === total) {
      W[14] = Math.floor((n * 8) / 2 ** 32);
      W[15] = (n * 8) | 0;
    }
    compress();
  }
  out[0] = H[0] as number;
  out[1] = H[1] as number;
  out[2] = H[2] as number;
  return true;
}
