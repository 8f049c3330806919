// --cleanup's last step per back-end and family: filter KUBE-FIREWALL, decided by
// kube-firewall.ts (removed when it is ours alone, kept for a kubelet or foreign rules), logged
// either way so an operator knows what stayed and why.
import type { Logger } from '../../../model/logger.ts';
import type { Iptables } from '../../../system/iptables.ts';
import { KUBELET_CANARY_CHAIN, planKubeFirewallCleanup, type KubeFirewallVerdict } from '../kube-firewall.ts';

const CANARY_TABLES = ['mangle', 'nat', 'filter'] as const;

export async function cleanupKubeFirewall(ipt: Iptables, log: Logger): Promise<KubeFirewallVerdict> {
  let kubelet = false;
  for (const t of CANARY_TABLES) if (!kubelet && (await ipt.chainExists(t, KUBELET_CANARY_CHAIN))) kubelet = true;
  const plan = planKubeFirewallCleanup(await ipt.save('filter'), kubelet);
  const where = { backend: ipt.backend, family: ipt.family, chain: 'KUBE-FIREWALL' };
  switch (plan.verdict) {
    case 'absent':
      break;
    case 'remove':
      await ipt.restore(plan.payload);
      log.info({ ...where, reason: 'only our localnet rule and no kubelet (no KUBE-KUBELET-CANARY)' }, 'cleanup: KUBE-FIREWALL removed');
      break;
    case 'kept-kubelet':
      log.info({ ...where, reason: 'a kubelet manages iptables here (KUBE-KUBELET-CANARY exists)' }, 'cleanup: KUBE-FIREWALL kept');
      break;
    case 'kept-foreign-rules':
      log.info({ ...where, reason: 'it holds rules that are not ours' }, 'cleanup: KUBE-FIREWALL kept');
      break;
  }
  return plan.verdict;
}
