// The userspace mode's entry point for main.ts.
export { createUserspaceProxier, type UserspaceProxier, type UserspaceProxierOptions } from './io/proxier.ts';
