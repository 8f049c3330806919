// Comment text for `-m comment --comment`. Upstream quotes comments that contain spaces and
// leaves bare ones (ns/svc:port) unquoted. Names come from the API (DNS labels), but the
// restore payload is a parser's input: one odd character would fail the whole transaction,
// so anything iptables-restore could mis-tokenize is dropped here, once per service port.

/** xt_comment holds 256 bytes including the NUL. */
const MAX_COMMENT = 255;

/** Printable ASCII minus the quote and backslash iptables-restore treats specially. */
export function sanitizeCommentText(s: string): string {
  let safe = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      safe = false;
      break;
    }
  }
  const out = safe ? s : s.replace(/[^\x20-\x7e]|["\\]/g, '');
  return out.length > MAX_COMMENT ? out.slice(0, MAX_COMMENT) : out;
}

/** The comment as one restore token: bare when it has no space, else double-quoted. */
export function commentToken(text: string): string {
  const t = sanitizeCommentText(text);
  if (t === '') return '""';
  return t.includes(' ') ? `"${t}"` : t;
}

/** `"…"` always, for comments that are phrases (upstream writes these with literal quotes). */
export function quotedComment(text: string): string {
  return `"${sanitizeCommentText(text)}"`;
}
