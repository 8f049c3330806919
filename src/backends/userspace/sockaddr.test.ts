import { describe, expect, it } from 'vitest';
import { decodeSockaddr, encodeSockaddr } from './sockaddr.ts';

describe('sockaddr encoding', () => {
  it.each([
    { ip: '127.0.0.1', port: 80, hex: '02000050' + '7f000001' + '00'.repeat(8) },
    { ip: '10.96.0.10', port: 65535, hex: '0200ffff' + '0a60000a' + '00'.repeat(8) },
    { ip: '::1', port: 8080, hex: '0a001f90' + '00000000' + '00'.repeat(15) + '01' + '00000000' },
    { ip: 'fd00::a', port: 1, hex: '0a000001' + '00000000' + 'fd00' + '00'.repeat(13) + '0a' + '00000000' },
  ])('$ip port $port round-trips', ({ ip, port, hex }) => {
    const bytes = encodeSockaddr(ip, port);
    expect(Buffer.from(bytes).toString('hex')).toBe(hex);
    expect(decodeSockaddr(bytes)).toEqual({ ip, port });
  });

  it.each([
    { ip: '10.1', port: 1, err: /invalid IP address/ },
    { ip: '127.0.0.1', port: 70000, err: /invalid port/ },
    { ip: '127.0.0.1', port: -1, err: /invalid port/ },
  ])('rejects $ip:$port', ({ ip, port, err }) => {
    expect(() => encodeSockaddr(ip, port)).toThrow(err);
  });

  it.each([
    { what: 'AF_UNIX', bytes: Uint8Array.from([1, 0, 0, 0]), len: 4 },
    { what: 'a truncated sockaddr_in', bytes: encodeSockaddr('127.0.0.1', 1), len: 8 },
    { what: 'empty', bytes: new Uint8Array(0), len: 0 },
  ])('refuses to decode $what', ({ bytes, len }) => {
    expect(() => decodeSockaddr(bytes, len)).toThrow(RangeError);
  });
});
