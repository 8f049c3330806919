import { describe, expect, it } from 'vitest';
import { ConfigError, describeError, ExecError, KubeProxyError, ObjectError } from './errors.ts';

describe('errors', () => {
  it.each([
    [new ConfigError('iptables.masqueradeBit', 'must be within [0,31], got 40'), 'KP_ERR_CONFIG_INVALID', 'iptables.masqueradeBit: must be within [0,31], got 40'],
    [new ObjectError('Service ns/a', 'invalid clusterIP "x"'), 'KP_ERR_OBJECT_INVALID', 'Service ns/a: invalid clusterIP "x"'],
    [new ExecError('iptables-restore', 2, 'line 3 failed\nmore'), 'KP_ERR_EXEC', 'iptables-restore: exit 2: line 3 failed'],
  ])('%s carries a stable code and one-line message', (err, code, message) => {
    expect(err.code).toBe(code);
    expect(err.message).toBe(message);
    expect(KubeProxyError.is(err)).toBe(true);
  });

  it('describes the cause chain', () => {
    const err = new ConfigError('--config', 'cannot read', { cause: new Error('ENOENT') });
    expect(describeError(err)).toBe('--config: cannot read: caused by: ENOENT');
    expect(KubeProxyError.is(new Error('plain'))).toBe(false);
  });
});
