// Bench load generator (runs inside the bench namespace), one JSON line on stdout:
//   bulk PORT SECONDS STREAMS  → { mbps }
//   crr  PORT SECONDS CONC     → { rate, p50, p99 } (connect, 8-byte request, 64-byte response, close; µs)
//   idle PORT COUNT            → prints `held` once COUNT connections exchanged one byte, holds until stdin closes
import net from 'node:net';

const [mode = '', portArg = '0', a = '3', b = '1'] = process.argv.slice(2);
const port = Number(portArg);
const host = '127.0.0.1';

function bulk(seconds: number, streams: number): Promise<void> {
  let bytes = 0;
  const socks: net.Socket[] = [];
  for (let i = 0; i < streams; i++) {
    const s = net.connect({ host, port });
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('error', () => undefined);
    socks.push(s);
  }
  return new Promise((resolve) => {
    // Skip the first half second (slow start, JIT), then measure.
    setTimeout(() => {
      const start = bytes;
      const t0 = process.hrtime.bigint();
      setTimeout(() => {
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        console.log(JSON.stringify({ mbps: (bytes - start) / secs / 1e6 }));
        for (const s of socks) s.destroy();
        resolve();
      }, seconds * 1000);
    }, 500);
  });
}

function crr(seconds: number, conc: number): Promise<void> {
  const lat: number[] = [];
  let errors = 0;
  let stop = false;
  const req = Buffer.from('GET /x\r\n');
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const s = net.connect({ host, port, noDelay: true });
      s.on('connect', () => s.write(req));
      s.on('data', () => undefined);
      s.on('end', () => {
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        errors++;
        s.destroy();
        resolve();
      });
    });
  const loop = async (): Promise<void> => {
    while (!stop) await once();
  };
  const t0 = process.hrtime.bigint();
  const loops = Array.from({ length: conc }, loop);
  setTimeout(() => (stop = true), seconds * 1000);
  return Promise.all(loops).then(() => {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    lat.sort((x, y) => x - y);
    const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
    console.log(JSON.stringify({ rate: lat.length / secs, p50: q(0.5), p99: q(0.99), errors }));
  });
}

async function idle(count: number): Promise<void> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect({ host, port });
          s.once('data', () => resolve());
          s.on('error', reject);
          s.on('connect', () => s.write('x'));
          socks.push(s);
        }),
      ),
    );
  }
  console.log('held');
  await new Promise((r) => process.stdin.on('end', r).resume());
  for (const s of socks) s.destroy();
}

if (mode === 'bulk') await bulk(Number(a), Number(b));
else if (mode === 'crr') await crr(Number(a), Number(b));
else if (mode === 'idle') await idle(Number(a));
else throw new Error(`unknown mode ${mode}`);
