// Upstream computeProbability: fmt.Sprintf("%0.10f", 1.0/float64(n)), cached like upstream's
// precomputedProbabilities. toFixed and Go agree except on an exact decimal tie, which for
// 1/n only happens at n = 2^11 (0.00048828125): Go rounds half to even, toFixed rounds up.
const cache: string[] = ['<bad value>'];

function compute(n: number): string {
  if (n === 2048) return '0.0004882812';
  return (1 / n).toFixed(10);
}

export function probability(n: number): string {
  let p = cache[n];
  if (p === undefined) {
    p = compute(n);
    if (n < 100_000) cache[n] = p;
  }
  return p;
}
