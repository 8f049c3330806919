// Linux errno numbers and names (include/uapi/asm-generic/errno-base.h and errno.h; the values
// are shared by x86_64 and arm64). Pure: used by the codec to name kernel errors in NLMSG_ERROR
// and by native/ to name failed system calls.

const NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 9: 'EBADF',
  11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV',
  22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 28: 'ENOSPC', 34: 'ERANGE', 38: 'ENOSYS', 61: 'ENODATA',
  71: 'EPROTO', 74: 'EBADMSG', 75: 'EOVERFLOW', 88: 'ENOTSOCK', 90: 'EMSGSIZE', 92: 'ENOPROTOOPT',
  93: 'EPROTONOSUPPORT', 95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL',
  105: 'ENOBUFS', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED',
};

const NUMBERS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(NAMES).map(([n, name]) => [name, Number(n)]),
);

export type ErrnoName = string;

/** `EEXIST` for 17; `errno 200` for numbers outside the table. */
export function errnoName(errno: number): ErrnoName {
  return NAMES[Math.abs(errno)] ?? `errno ${Math.abs(errno)}`;
}

/** 17 for `EEXIST`; undefined for names outside the table. */
export function errnoNumber(name: ErrnoName): number | undefined {
  return NUMBERS[name];
}
