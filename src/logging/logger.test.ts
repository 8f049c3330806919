import { describe, expect, it } from 'vitest';
import { KubeProxyError } from '../errors.ts';
import type { Logger } from '../model/logger.ts';
import { createLogger, formatText, levelForVerbosity } from './logger.ts';

function sink() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
}

describe('levelForVerbosity', () => {
  it.each([
    [0, 'info'],
    [1, 'info'],
    [2, 'debug'],
    [4, 'debug'],
    [5, 'trace'],
    [10, 'trace'],
  ])('-v=%i is %s', (v, level) => {
    expect(levelForVerbosity(v)).toBe(level);
  });
});

describe('createLogger', () => {
  it('writes JSON lines with the err serializer and honours verbosity', () => {
    const s = sink();
    const log: Logger = createLogger({ format: 'json', verbosity: 2, destination: s.destination });
    log.trace('hidden');
    log.debug({ family: 'IPv4' }, 'synced proxy rules');
    log.child({ component: 'sync' }).error({ err: new KubeProxyError('KP_ERR_SYNC', 'boom') }, 'sync failed');
    expect(s.lines).toHaveLength(2);
    const [a, b] = s.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toMatchObject({ level: 20, msg: 'synced proxy rules', family: 'IPv4' });
    expect(typeof a?.['time']).toBe('string');
    expect(b).toMatchObject({ level: 50, msg: 'sync failed', component: 'sync', err: { type: 'KubeProxyError', message: 'boom', code: 'KP_ERR_SYNC' } });
  });

  it('an explicit level wins over verbosity', () => {
    const s = sink();
    const log = createLogger({ format: 'json', verbosity: 9, level: 'warn', destination: s.destination });
    log.info('no');
    log.warn('yes');
    expect(s.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['yes']);
  });

  it('text format writes one readable line per record', () => {
    const s = sink();
    const log = createLogger({ format: 'text', destination: s.destination });
    log.info({ port: 10256, address: '0.0.0.0' }, 'healthz server listening');
    log.error({ err: new KubeProxyError('KP_ERR_SERVER', 'cannot listen'), note: 'two words' }, 'failed');
    expect(s.lines).toHaveLength(2);
    expect(s.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}healthz server listening port=10256 address=0\.0\.0\.0\n$/);
    expect(s.lines[1]).toMatch(/ ERROR failed err="KubeProxyError: cannot listen \(KP_ERR_SERVER\)" note="two words"\n$/);
  });
});

describe('formatText', () => {
  it('passes a line that is not JSON through, saying so', () => {
    expect(formatText('plain')).toMatch(/^plain \(unformatted: .+\)\n$/);
  });
});
