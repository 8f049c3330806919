// Every flag we accept, with upstream's name and default (cmd/kube-proxy/app/options.go AddFlags,
// component-base logs for -v/--logging-format), so existing DaemonSet arguments keep working.
// `shown` is the default printed in --help; the real defaults live in src/config/defaults.ts and
// are applied only to flags that were not given, which is how precedence knows what was set.

export type FlagKind = 'string' | 'boolean' | 'list';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly group: string;
  readonly describe: string;
  readonly shown?: string;
  readonly deprecated?: string;
}

const G = {
  control: 'Control:',
  api: 'API server:',
  serving: 'Identity and serving:',
  mode: 'Proxy mode:',
  iptables: 'iptables:',
  ipvs: 'IPVS:',
  local: 'Local traffic:',
  linux: 'Linux and conntrack:',
  logging: 'Logging:',
  ours: 'kube-proxy-ts:',
} as const;

const IGNORED = ' Ignored if a config file is specified by --config.';

export const FLAGS: readonly FlagSpec[] = [
  { name: 'config', kind: 'string', group: G.control, describe: 'The path to the configuration file (KubeProxyConfiguration v1alpha1).' },
  { name: 'write-config-to', kind: 'string', group: G.control, describe: 'If set, write the configuration values to this file and exit.' },
  { name: 'cleanup', kind: 'boolean', group: G.control, describe: 'If true cleanup iptables and ipvs rules and exit.', shown: 'false' },
  { name: 'init-only', kind: 'boolean', group: G.control, describe: 'If true, perform any initialization steps that must be done with full root privileges, and then exit. After doing this, you can run kube-proxy again with only the CAP_NET_ADMIN capability.', shown: 'false' },
  { name: 'version', kind: 'boolean', group: G.control, describe: 'Print version information and quit.' },
  { name: 'help', kind: 'boolean', group: G.control, describe: 'Show this help.' },
  { name: 'feature-gates', kind: 'list', group: G.control, describe: `A set of key=value pairs that describe feature gates (e.g. Foo=true,Bar=false).${IGNORED}` },

  { name: 'kubeconfig', kind: 'string', group: G.api, describe: 'Path to kubeconfig file with authorization information (the master location can be overridden by the master flag).' },
  { name: 'master', kind: 'string', group: G.api, describe: 'The address of the Kubernetes API server (overrides any value in kubeconfig).' },
  { name: 'kube-api-content-type', kind: 'string', group: G.api, describe: 'Accepted for compatibility and ignored: the API client speaks JSON.', shown: 'application/vnd.kubernetes.protobuf' },
  { name: 'kube-api-qps', kind: 'string', group: G.api, describe: 'QPS to use while talking with kubernetes apiserver.', shown: '5' },
  { name: 'kube-api-burst', kind: 'string', group: G.api, describe: 'Burst to use while talking with kubernetes apiserver.', shown: '10' },
  { name: 'config-sync-period', kind: 'string', group: G.api, describe: 'How often configuration from the apiserver is refreshed. Must be greater than 0.', shown: '15m0s' },

  { name: 'hostname-override', kind: 'string', group: G.serving, describe: "If non-empty, will be used as the name of the Node that kube-proxy is running on. If unset, the node name is assumed to be the same as the node's hostname." },
  { name: 'bind-address', kind: 'string', group: G.serving, describe: `Overrides kube-proxy's idea of what its node's primary IP is.${IGNORED}`, shown: '0.0.0.0' },
  { name: 'healthz-bind-address', kind: 'string', group: G.serving, describe: `The IP address and port for the health check server to serve on. Set empty to disable.${IGNORED}`, shown: '0.0.0.0:10256' },
  { name: 'metrics-bind-address', kind: 'string', group: G.serving, describe: `The IP address and port for the metrics server to serve on. Set empty to disable.${IGNORED}`, shown: '127.0.0.1:10249' },
  { name: 'healthz-port', kind: 'string', group: G.serving, describe: 'The port to bind the health check server. Use 0 to disable.', deprecated: 'use --healthz-bind-address' },
  { name: 'metrics-port', kind: 'string', group: G.serving, describe: 'The port to bind the metrics server. Use 0 to disable.', deprecated: 'use --metrics-bind-address' },
  { name: 'bind-address-hard-fail', kind: 'boolean', group: G.serving, describe: 'If true kube-proxy will treat failure to bind to a port as fatal and exit.', shown: 'false' },
  { name: 'profiling', kind: 'boolean', group: G.serving, describe: `Accepted for compatibility; there is no pprof handler in Node.${IGNORED}`, shown: 'false' },

  { name: 'proxy-mode', kind: 'string', group: G.mode, describe: `Which proxy mode to use: 'iptables' (default), 'ipvs' or 'userspace'.${IGNORED}`, shown: 'iptables' },

  { name: 'masquerade-all', kind: 'boolean', group: G.iptables, describe: 'SNAT all traffic sent via Service cluster IPs.', shown: 'false' },
  { name: 'iptables-masquerade-bit', kind: 'string', group: G.iptables, describe: 'The bit of the fwmark space to mark packets requiring SNAT with. Must be within the range [0, 31].', shown: '14' },
  { name: 'iptables-sync-period', kind: 'string', group: G.iptables, describe: "An interval (e.g. '5s', '1m', '2h22m') indicating how frequently various re-synchronizing and cleanup operations are performed. Must be greater than 0.", shown: '30s' },
  { name: 'iptables-min-sync-period', kind: 'string', group: G.iptables, describe: 'The minimum period between iptables rule resyncs (e.g. 5s, 1m). 0 resyncs on every change.', shown: '1s' },
  { name: 'iptables-localhost-nodeports', kind: 'boolean', group: G.iptables, describe: 'If false, do not allow NodePort services to be accessed via localhost (iptables mode, IPv4 only).', shown: 'true' },

  { name: 'ipvs-scheduler', kind: 'string', group: G.ipvs, describe: 'The ipvs scheduler type when proxy mode is ipvs (rr when empty).' },
  { name: 'ipvs-strict-arp', kind: 'boolean', group: G.ipvs, describe: 'Enable strict ARP by setting arp_ignore to 1 and arp_announce to 2.', shown: 'false' },
  { name: 'ipvs-sync-period', kind: 'string', group: G.ipvs, describe: 'How frequently IPVS rules are re-synchronized. Must be greater than 0.', shown: '30s' },
  { name: 'ipvs-min-sync-period', kind: 'string', group: G.ipvs, describe: 'The minimum period between IPVS rule resyncs. 0 resyncs on every change.', shown: '0s' },
  { name: 'ipvs-exclude-cidrs', kind: 'list', group: G.ipvs, describe: 'A comma-separated list of CIDRs which the ipvs proxier should not touch when cleaning up IPVS rules.' },
  { name: 'ipvs-tcp-timeout', kind: 'string', group: G.ipvs, describe: 'The timeout for idle IPVS TCP connections, 0 to leave as-is.', shown: '0s' },
  { name: 'ipvs-tcpfin-timeout', kind: 'string', group: G.ipvs, describe: 'The timeout for IPVS TCP connections after receiving a FIN packet, 0 to leave as-is.', shown: '0s' },
  { name: 'ipvs-udp-timeout', kind: 'string', group: G.ipvs, describe: 'The timeout for IPVS UDP packets, 0 to leave as-is.', shown: '0s' },

  { name: 'detect-local-mode', kind: 'string', group: G.local, describe: `Mode to use to detect local traffic: ClusterCIDR, NodeCIDR, BridgeInterface or InterfaceNamePrefix.${IGNORED}`, shown: 'ClusterCIDR' },
  { name: 'cluster-cidr', kind: 'string', group: G.local, describe: `The CIDR range of the pods in the cluster (a comma-separated dual-stack pair for dual-stack clusters).${IGNORED}` },
  { name: 'pod-bridge-interface', kind: 'string', group: G.local, describe: 'A bridge interface name, for --detect-local-mode=BridgeInterface.' },
  { name: 'pod-interface-name-prefix', kind: 'string', group: G.local, describe: 'An interface name prefix, for --detect-local-mode=InterfaceNamePrefix.' },
  { name: 'nodeport-addresses', kind: 'list', group: G.local, describe: `CIDR ranges that contain valid node IPs for NodePorts, or 'primary'. All local IPs when unset.${IGNORED}` },

  { name: 'oom-score-adj', kind: 'string', group: G.linux, describe: `The oom-score-adj value for the process, within [-1000, 1000].${IGNORED}`, shown: '-999' },
  { name: 'conntrack-max-per-core', kind: 'string', group: G.linux, describe: 'Maximum number of NAT connections to track per CPU core (0 to leave the limit as-is and ignore conntrack-min).', shown: '32768' },
  { name: 'conntrack-min', kind: 'string', group: G.linux, describe: 'Minimum number of conntrack entries to allocate, regardless of conntrack-max-per-core.', shown: '131072' },
  { name: 'conntrack-tcp-timeout-established', kind: 'string', group: G.linux, describe: 'Idle timeout for established TCP connections (0 to leave as-is).', shown: '24h0m0s' },
  { name: 'conntrack-tcp-timeout-close-wait', kind: 'string', group: G.linux, describe: 'NAT timeout for TCP connections in the CLOSE_WAIT state.', shown: '1h0m0s' },
  { name: 'conntrack-tcp-be-liberal', kind: 'boolean', group: G.linux, describe: 'Enable liberal mode for tracking TCP packets by setting nf_conntrack_tcp_be_liberal to 1.', shown: 'false' },
  { name: 'conntrack-udp-timeout', kind: 'string', group: G.linux, describe: 'Idle timeout for UNREPLIED UDP connections (0 to leave as-is).', shown: '0s' },
  { name: 'conntrack-udp-timeout-stream', kind: 'string', group: G.linux, describe: 'Idle timeout for ASSURED UDP connections (0 to leave as-is).', shown: '0s' },

  { name: 'v', kind: 'string', group: G.logging, describe: 'Number for the log level verbosity (klog): 0-1 info, 2-4 debug, 5+ trace.', shown: '0' },
  { name: 'log-level', kind: 'string', group: G.logging, describe: 'pino log level (trace, debug, info, warn, error, fatal, silent); overrides -v.' },
  { name: 'logging-format', kind: 'string', group: G.logging, describe: 'Sets the log format: text or json.', shown: 'text' },
  { name: 'log-format', kind: 'string', group: G.logging, describe: 'Alias of --logging-format.' },

  { name: 'manifests', kind: 'string', group: G.ours, describe: 'Run from a directory of Service/EndpointSlice manifests instead of an API server.' },
  { name: 'dry-run', kind: 'boolean', group: G.ours, describe: 'Print what would be programmed and exit, touching nothing.', shown: 'false' },
  { name: 'iptables-backend', kind: 'string', group: G.ours, describe: 'iptables back-end: auto (detect as iptables-wrapper does), legacy or nft.', shown: 'auto' },
];

/** One-letter flags that may be written with a single dash, as pflag shorthands: `-v=4`, `-v 4`, `-h`. */
export const SHORTHANDS: Readonly<Record<string, string>> = { v: 'v', h: 'help' };

export const FLAG_BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((f) => [f.name, f]));
