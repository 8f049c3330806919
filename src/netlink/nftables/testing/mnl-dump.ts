// Test-only: parses `nft --debug=mnl` output (libmnl's mnl_nlmsg_fprintf) back into messages, so
// tests compare our encoded batch with the exact bytes nft sends for the same text. Every line
// after a message's extra header is 4 bytes of the payload: an attribute header
// (`|00015|N-|00001|`: length, nested/byte-order flags, type) or a data word (`| 6b 75 62 65  |`).
export interface MnlMessage {
  readonly type: number;
  /** nfgenmsg and attributes, as sent (padding included). */
  readonly payload: Uint8Array;
}

// eslint-disable-next-line no-control-regex -- libmnl colours its attribute headers with ANSI escapes
const ANSI = /\u001b\[[0-9;]*m/g;

export function parseMnlDump(text: string): MnlMessage[] {
  const out: MnlMessage[] = [];
  let type = -1;
  let bytes: number[] | null = null;
  const finish = (): void => {
    if (bytes !== null && type >= 0) out.push({ type, payload: Uint8Array.from(bytes) });
    bytes = null;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(ANSI, '');
    let m: RegExpExecArray | null;
    if ((m = /^\|\s+(\d{10})\s+\|\t\| message length \|/.exec(line)) !== null) {
      finish();
      type = -1;
    } else if ((m = /^\| (\d{5}) \| [-A-Z]{4} \|\t\| {2}type \| flags {2}\|/.exec(line)) !== null) {
      type = Number(m[1]);
    } else if ((m = /^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) {2}\|\t\| {2}extra header {2}\|/.exec(line)) !== null) {
      bytes = [1, 2, 3, 4].map((i) => parseInt(m?.[i] ?? '0', 16));
    } else if (bytes !== null && (m = /^\|(\d{5})\|([-N])([-B])\|(\d{5})\|\t\|len \|flags\| type\|/.exec(line)) !== null) {
      const len = Number(m[1]);
      const t = Number(m[4]) | (m[2] === 'N' ? 0x8000 : 0) | (m[3] === 'B' ? 0x4000 : 0);
      bytes.push(len & 0xff, len >> 8, t & 0xff, t >> 8);
    } else if (bytes !== null && (m = /^\| ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) ([0-9a-f]{2}) {2}\|\t\| {6}data {6}\|/.exec(line)) !== null) {
      bytes.push(...[1, 2, 3, 4].map((i) => parseInt(m?.[i] ?? '0', 16)));
    }
  }
  finish();
  return out;
}
