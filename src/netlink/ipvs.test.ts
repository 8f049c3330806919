import { describe, expect, it } from 'vitest';
import { IP_VS_SVC_F_HASHED, IP_VS_SVC_F_PERSISTENT, describeService, ipvsRequest } from './ipvs.ts';
import type { IpvsDestination, IpvsService } from './ipvs.ts';
import { toHex } from './testdata/hex.ts';

const svc: IpvsService = {
  family: 'IPv4', protocol: 'TCP', address: '10.96.0.1', port: 443, scheduler: 'rr', flags: 0, timeout: 0, prefixLength: 32,
};
const dest: IpvsDestination = { address: '10.244.1.5', port: 8080, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 };

const identity = '06000100' + '02000000' + '06000200' + '06000000' + '08000300' + '0a600001' + '06000400' + '01bb0000';

describe('IPVS requests (golden bytes, include/uapi/linux/ip_vs.h)', () => {
  it('NEW_SERVICE 10.96.0.1:443/TCP rr: port and IPv4 netmask big-endian, the rest host order', () => {
    expect(toHex(ipvsRequest.newService(svc))).toBe(
      '01010000' + '48000100' + identity + '07000600' + '72720000' + '0c000700' + '00000000' + 'ffffffff' +
        '08000800' + '00000000' + '08000900' + 'ffffffff',
    );
  });

  it('SET_SERVICE with persistence: flags, timeout, and a /24 netmask as mask bytes', () => {
    const hex = toHex(ipvsRequest.setService({ ...svc, flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_HASHED, timeout: 10800, prefixLength: 24 }));
    expect(hex.slice(0, 8)).toBe('02010000');
    expect(hex).toContain('0c000700' + '01000000' + 'ffffffff'); // HASHED never sent
    expect(hex).toContain('08000800' + '302a0000');
    expect(hex.endsWith('08000900' + 'ffffff00')).toBe(true);
  });

  it('IPv6 service: 16-byte address and the netmask as a host-order prefix length', () => {
    const hex = toHex(ipvsRequest.newService({ ...svc, family: 'IPv6', address: 'fd00::a', protocol: 'UDP', port: 53, prefixLength: 128 }));
    expect(hex).toContain('06000100' + '0a000000' + '06000200' + '11000000' + '14000300' + 'fd000000000000000000000000000000'.slice(0, 30) + '0a');
    expect(hex).toContain('06000400' + '00350000');
    expect(hex.endsWith('08000900' + '80000000')).toBe(true);
  });

  it('NEW_DEST: service identity nest then the full destination nest', () => {
    expect(toHex(ipvsRequest.newDest(svc, dest))).toBe(
      '05010000' + '24000100' + identity +
        '34000200' + '08000100' + '0af40105' + '06000200' + '1f900000' + '08000300' + '00000000' + '08000400' + '01000000' +
        '08000500' + '00000000' + '08000600' + '00000000',
    );
  });

  it('DEL_DEST carries only the destination address and port; GET_DEST dump the identity', () => {
    expect(toHex(ipvsRequest.delDest(svc, dest))).toBe('07010000' + '24000100' + identity + '14000200' + '08000100' + '0af40105' + '06000200' + '1f900000');
    expect(toHex(ipvsRequest.dumpDests(svc))).toBe('08010000' + '24000100' + identity);
  });

  it('SET_CONFIG timeouts, GET_SERVICE dump and FLUSH', () => {
    expect(toHex(ipvsRequest.setConfig({ tcp: 900, tcpFin: 0, udp: 300 }))).toBe('0c010000' + '0800040084030000' + '0800050000000000' + '080006002c010000');
    expect(toHex(ipvsRequest.dumpServices())).toBe('04010000');
    expect(toHex(ipvsRequest.flush())).toBe('11010000');
  });

  it.each([
    ['an address of the other family', () => ipvsRequest.newService({ ...svc, address: 'fd00::1' }), /not an IPv4 address/],
    ['a bad address', () => ipvsRequest.newService({ ...svc, address: '10.96.0' }), /invalid IP address "10.96.0"/],
    ['a port out of range', () => ipvsRequest.newService({ ...svc, port: 70000 }), /invalid port 70000/],
    ['a netmask out of range', () => ipvsRequest.newService({ ...svc, prefixLength: 0 }), /invalid netmask/],
    ['a negative weight', () => ipvsRequest.newDest(svc, { ...dest, weight: -1 }), /invalid weight -1/],
  ])('rejects %s before it reaches the kernel', (_n, fn, msg) => {
    expect(fn).toThrow(msg);
  });

  it('names services the way errors and logs show them', () => {
    expect(describeService({ ...svc, protocol: 'UDP', address: '10.96.0.10', port: 53 })).toBe('10.96.0.10:53/UDP');
    expect(describeService({ ...svc, family: 'IPv6', address: 'fd00::a' })).toBe('[fd00::a]:443/TCP');
  });
});
