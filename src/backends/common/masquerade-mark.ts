// The packet mark that asks for SNAT (--iptables-masquerade-bit), as every mode writes it. Pure.

/** Go's `fmt.Sprintf("%#08x", 1<<bit)`: zero-pad the digits to 8, then prefix 0x (upstream's spelling). */
export function masqueradeMark(bit: number): string {
  return '0x' + (2 ** bit).toString(16).padStart(8, '0');
}
