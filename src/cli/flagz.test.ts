import { describe, expect, it } from 'vitest';
import { flagzValues } from './flagz.ts';
import { parseFlags } from './flags.ts';

describe('flagzValues', () => {
  it('has every flag: given values as given, the others at their defaults, as pflag prints them', () => {
    const v = flagzValues(parseFlags(['--proxy-mode=ipvs', '--masquerade-all', '--nodeport-addresses', '10.0.0.0/8,192.0.2.0/24', '-v=4']));
    expect(v['proxy-mode']).toBe('ipvs');
    expect(v['masquerade-all']).toBe('true');
    expect(v['nodeport-addresses']).toBe('[10.0.0.0/8,192.0.2.0/24]');
    expect(v['v']).toBe('4');
    expect(v['iptables-sync-period']).toBe('30s');
    expect(v['cleanup']).toBe('false');
    expect(v['ipvs-exclude-cidrs']).toBe('[]');
    expect(v['hostname-override']).toBe('');
    expect('help' in v).toBe(false);
  });
});
