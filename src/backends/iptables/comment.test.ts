import { describe, expect, it } from 'vitest';
import { commentToken, quotedComment, sanitizeCommentText } from './comment.ts';

// xt_comment keeps XT_MAX_COMMENT_LEN (256) bytes with the NUL: iptables-restore refuses a longer
// comment and with it the whole transaction, so a comment is cut to 255 characters (the userspace
// mode's portals use the same functions; portal-rules.test.ts).
describe('iptables comments', () => {
  it.each([
    { name: 'short names pass through', input: 'ns/svc:port', want: 'ns/svc:port' },
    { name: 'exactly 255 characters are kept', input: 'a'.repeat(255), want: 'a'.repeat(255) },
    { name: 'longer ones are cut at 255', input: `${'b'.repeat(250)} has no endpoints`, want: `${'b'.repeat(250)} has ` },
    { name: 'characters restore would mis-read are dropped before cutting', input: `"${'c'.repeat(300)}\\`, want: 'c'.repeat(255) },
  ])('$name', ({ input, want }) => {
    expect(sanitizeCommentText(input)).toBe(want);
    expect(quotedComment(input)).toBe(`"${want}"`);
  });

  it('quotes a cut comment only when it holds a space', () => {
    expect(commentToken('d'.repeat(300))).toBe('d'.repeat(255));
    expect(commentToken(`x ${'d'.repeat(300)}`)).toBe(`"x ${'d'.repeat(253)}"`);
  });
});
