// Runs inside the IPVS test kernel booted WITHOUT ip_vs/dummy and without module autoload: the
// clients must say clearly that the kernel lacks them. Output: $KPT_UML_RESULT.
import { writeFileSync } from 'node:fs';
import { KubeProxyError, describeError } from '../../src/errors.ts';
import { IpvsClient } from '../../src/system/ipvs-client.ts';
import { LinkClient } from '../../src/system/link-client.ts';

async function caught(fn: () => Promise<unknown>): Promise<string | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return KubeProxyError.is(err) ? `${err.code} ${err.message}` : describeError(err);
  }
}

const links = LinkClient.open();
const out = {
  ipvs: await caught(() => IpvsClient.open()),
  dummy: await caught(() => links.ensureDummyLink('kube-ipvs0')),
};
links.close();
writeFileSync(process.env.KPT_UML_RESULT ?? '/dev/stdout', JSON.stringify(out));
