import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getFamilyRequest, parseFamily } from './genl.ts';
import { splitMessages } from './message.ts';
import { fromHex, toHex } from './testdata/hex.ts';

/** A reply captured from the IPVS test kernel by test/support/uml-capture-fixtures.ts. */
const fixture = (name: string): Uint8Array =>
  fromHex(readFileSync(new URL(`./testdata/${name}.hex`, import.meta.url), 'utf8'));

describe('generic netlink controller', () => {
  it('encodes CTRL_CMD_GETFAMILY "IPVS" (name with its NUL: nla_len 9, padded to 12)', () => {
    expect(toHex(getFamilyRequest('IPVS'))).toBe('03010000' + '09000200' + '49505653' + '00000000');
  });

  it('decodes the kernel reply captured in the IPVS test kernel', () => {
    const [m] = splitMessages(fixture('ctrl-getfamily-ipvs'));
    expect(m?.type).toBe(0x10);
    const f = parseFamily(m?.payload ?? new Uint8Array());
    expect(f.name).toBe('IPVS');
    expect(f.id).toBeGreaterThanOrEqual(0x10);
    expect(f.version).toBe(1);
    expect(f.maxAttr).toBe(6); // IPVS_CMD_ATTR_MAX
  });
});
