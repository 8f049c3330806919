// The feature gates kube-proxy accepts, as of Kubernetes v1.33 (the release whose kube-proxy we
// mirror). Upstream's kube-proxy registers every Kubernetes gate in one process-wide gate
// (pkg/features/kube_features.go defaultVersionedKubernetesFeatureGates, which also relists the
// apiserver, apiextensions, controller-manager and zpages gates), plus client-go's
// (client-go/features/known_features.go), component-base logging's and metrics'
// (cmd/kube-proxy/app/server.go init) and the built-in AllAlpha/AllBeta. Setting a name outside that
// set fails start-up ("unrecognized feature gate: X"), and so does setting a gate locked to its
// default to the other value (featuregate.SetFromMap). Only the names are kept here, and the locked
// gates' values. One gate of v1.37 changes our behaviour: KubeProxyIPVS (config/mode-warnings.ts).
// Pure.
import { ConfigError } from '../errors.ts';

/** The Kubernetes release this list is taken from. */
export const FEATURE_GATES_VERSION = '1.33';

const KUBERNETES = [
  'AllowDNSOnlyNodeCSR', 'AllowInsecureKubeletCertificateSigningRequests', 'AllowOverwriteTerminationGracePeriodSeconds',
  'AllowServiceLBStatusOnNonLB', 'AnyVolumeDataSource', 'AuthorizeNodeWithSelectors', 'ClusterTrustBundle',
  'ClusterTrustBundleProjection', 'ContainerCheckpoint', 'ContainerStopSignals', 'CoordinatedLeaderElection',
  'CPUManagerPolicyAlphaOptions', 'CPUManagerPolicyBetaOptions', 'CPUManagerPolicyOptions', 'CronJobsScheduledAnnotation',
  'CrossNamespaceVolumeDataSource', 'CSIMigrationPortworx', 'CSIVolumeHealth', 'CustomCPUCFSQuotaPeriod',
  'DeclarativeValidation', 'DeclarativeValidationTakeover', 'DeploymentReplicaSetTerminatingReplicas',
  'DevicePluginCDIDevices', 'DisableAllocatorDualWrite', 'DisableCPUQuotaWithExclusiveCPUs', 'DisableNodeKubeProxyVersion',
  'DRAAdminAccess', 'DRADeviceTaints', 'DRAPartitionableDevices', 'DRAPrioritizedList', 'DRAResourceClaimDeviceStatus',
  'DynamicResourceAllocation', 'ElasticIndexedJob', 'EventedPLEG', 'ExecProbeTimeout', 'ExternalServiceAccountTokenSigner',
  'GitRepoVolumeDriver', 'GracefulNodeShutdown', 'GracefulNodeShutdownBasedOnPodPriority', 'HonorPVReclaimPolicy',
  'HPAConfigurableTolerance', 'HPAScaleToZero', 'ImageMaximumGCAge', 'ImageVolume', 'InPlacePodVerticalScaling',
  'InPlacePodVerticalScalingAllocatedStatus', 'InPlacePodVerticalScalingExclusiveCPUs', 'InTreePluginPortworxUnregister',
  'JobBackoffLimitPerIndex', 'JobManagedBy', 'JobPodReplacementPolicy', 'JobSuccessPolicy', 'KubeletCgroupDriverFromCRI',
  'KubeletCrashLoopBackOffMax', 'KubeletEnsureSecretPulledImages', 'KubeletFineGrainedAuthz', 'KubeletInUserNamespace',
  'KubeletPodResourcesDynamicResources', 'KubeletPodResourcesGet', 'KubeletPSI', 'KubeletRegistrationGetOnExistsOnly',
  'KubeletSeparateDiskGC', 'KubeletServiceAccountTokenForCredentialProviders', 'KubeletTracing', 'LegacySidecarContainers',
  'LoadBalancerIPMode', 'LocalStorageCapacityIsolationFSQuotaMonitoring', 'LogarithmicScaleDown',
  'MatchLabelKeysInPodAffinity', 'MatchLabelKeysInPodTopologySpread', 'MaxUnavailableStatefulSet', 'MemoryManager',
  'MemoryQoS', 'MultiCIDRServiceAllocator', 'MutableCSINodeAllocatableCount', 'NFTablesProxyMode',
  'NodeInclusionPolicyInPodTopologySpread', 'NodeLogQuery', 'NodeSwap', 'OrderedNamespaceDeletion',
  'PodAndContainerStatsFromCRI', 'PodDeletionCost', 'PodDisruptionConditions', 'PodIndexLabel', 'PodLevelResources',
  'PodLifecycleSleepAction', 'PodLifecycleSleepActionAllowZero', 'PodLogsQuerySplitStreams', 'PodObservedGenerationTracking',
  'PodReadyToStartContainersCondition', 'PodSchedulingReadiness', 'PodTopologyLabelsAdmission', 'PortForwardWebsockets',
  'PreferSameTrafficDistribution', 'ProcMountType', 'QOSReserved', 'RecoverVolumeExpansionFailure', 'RecursiveReadOnlyMounts',
  'ReduceDefaultCrashLoopBackOffDecay', 'RelaxedDNSSearchValidation', 'RelaxedEnvironmentVariableValidation',
  'ReloadKubeletServerCertificateFile', 'ResourceHealthStatus', 'RotateKubeletServerCertificate', 'RuntimeClassInImageCriApi',
  'SchedulerAsyncPreemption', 'SchedulerPopFromBackoffQ', 'SchedulerQueueingHints', 'SELinuxChangePolicy', 'SELinuxMount',
  'SELinuxMountReadWriteOncePod', 'SeparateTaintEvictionController', 'ServiceAccountNodeAudienceRestriction',
  'ServiceAccountTokenJTI', 'ServiceAccountTokenNodeBinding', 'ServiceAccountTokenNodeBindingValidation',
  'ServiceAccountTokenPodNodeInfo', 'ServiceTrafficDistribution', 'SidecarContainers', 'SizeMemoryBackedVolumes',
  'StatefulSetAutoDeletePVC', 'StatefulSetStartOrdinal', 'StorageCapacityScoring', 'StorageNamespaceIndex',
  'StorageVersionMigrator', 'StreamingCollectionEncodingToJSON', 'StreamingCollectionEncodingToProtobuf',
  'StrictIPCIDRValidation', 'SupplementalGroupsPolicy', 'SystemdWatchdog', 'TopologyAwareHints',
  'TopologyManagerPolicyAlphaOptions', 'TopologyManagerPolicyBetaOptions', 'TopologyManagerPolicyOptions',
  'TranslateStreamCloseWebsocketRequests', 'UnknownVersionInteroperabilityProxy', 'UserNamespacesPodSecurityStandards',
  'UserNamespacesSupport', 'VolumeAttributesClass', 'WindowsCPUAndMemoryAffinity', 'WindowsGracefulNodeShutdown',
  'WindowsHostNetwork', 'WinDSR', 'WinOverlay',
] as const;

/** Relisted in the Kubernetes map from k8s.io/apiserver, apiextensions-apiserver, controller-manager and zpages. */
const RELISTED = [
  'AggregatedDiscoveryRemoveBetaType', 'AllowParsingUserUIDFromCertAuth', 'AllowUnsafeMalformedObjectDeletion',
  'AnonymousAuthConfigurableEndpoints', 'APIResponseCompression', 'APIServerIdentity', 'APIServerTracing',
  'APIServingWithRoutine', 'AuthorizeWithSelectors', 'BtreeWatchCache', 'CBORServingAndStorage',
  'ConcurrentWatchObjectDecode', 'ConsistentListFromCache', 'KMSv1', 'ListFromCacheSnapshot', 'MutatingAdmissionPolicy',
  'OpenAPIEnums', 'RemoteRequestHeaderUID', 'ResilientWatchCacheInitialization', 'RetryGenerateName', 'SeparateCacheWatchRPC',
  'StorageVersionAPI', 'StorageVersionHash', 'StrictCostEnforcementForVAP', 'StrictCostEnforcementForWebhooks',
  'StructuredAuthenticationConfiguration', 'StructuredAuthorizationConfiguration', 'UnauthenticatedHTTP2DOSMitigation',
  'WatchCacheInitializationPostStartHook', 'WatchFromStorageWithoutResourceVersion', 'WatchList',
  'CRDValidationRatcheting', 'CustomResourceFieldSelectors', 'CloudControllerManagerWebhook',
  'ComponentFlagz', 'ComponentStatusz',
] as const;

/** Gates of later releases that change kube-proxy's behaviour here (src/config/mode-warnings.ts). */
const LATER = ['KubeProxyIPVS'] as const;

/** client-go, component-base logs and metrics, and featuregate's own. */
const COMPONENTS = [
  'ClientsAllowCBOR', 'ClientsPreferCBOR', 'InOrderInformers', 'InformerResourceVersion', 'WatchListClient',
  'LoggingAlphaOptions', 'LoggingBetaOptions', 'ContextualLogging', 'ComponentSLIs',
  'AllAlpha', 'AllBeta',
] as const;

export const KNOWN_FEATURE_GATES: ReadonlySet<string> = new Set<string>([...KUBERNETES, ...RELISTED, ...COMPONENTS, ...LATER]);

/** Gates locked to their default in v1.33 (LockToDefault on their latest spec), with that default. */
export const LOCKED_FEATURE_GATES: Readonly<Record<string, boolean>> = {
  AllowServiceLBStatusOnNonLB: false, AnyVolumeDataSource: true, BtreeWatchCache: true, CPUManagerPolicyOptions: true,
  CRDValidationRatcheting: true, CronJobsScheduledAnnotation: true, CSIMigrationPortworx: true, CustomResourceFieldSelectors: true,
  DevicePluginCDIDevices: true, ElasticIndexedJob: true, HonorPVReclaimPolicy: true, JobBackoffLimitPerIndex: true,
  JobSuccessPolicy: true, LoadBalancerIPMode: true, LogarithmicScaleDown: true, MatchLabelKeysInPodAffinity: true,
  MemoryManager: true, NFTablesProxyMode: true, NodeInclusionPolicyInPodTopologySpread: true, PodDisruptionConditions: true,
  PodIndexLabel: true, PodSchedulingReadiness: true, RecursiveReadOnlyMounts: true, RetryGenerateName: true,
  ServiceAccountTokenJTI: true, ServiceAccountTokenNodeBinding: true, ServiceAccountTokenNodeBindingValidation: true,
  ServiceAccountTokenPodNodeInfo: true, ServiceTrafficDistribution: true, SidecarContainers: true, SizeMemoryBackedVolumes: true,
  StatefulSetAutoDeletePVC: true, StatefulSetStartOrdinal: true, StrictCostEnforcementForVAP: true,
  StrictCostEnforcementForWebhooks: true, StructuredAuthorizationConfiguration: true, TopologyAwareHints: true,
  WatchFromStorageWithoutResourceVersion: false,
};

/** upstream featuregate.SetFromMap's checks, one ConfigError (path featureGates) per bad entry, in name order. */
export function validateFeatureGates(gates: Readonly<Record<string, boolean>>): ConfigError[] {
  const errs: ConfigError[] = [];
  for (const name of Object.keys(gates).sort()) {
    const value = gates[name];
    if (!KNOWN_FEATURE_GATES.has(name)) {
      errs.push(new ConfigError('featureGates', `unrecognized feature gate: ${name}`));
      continue;
    }
    const locked = LOCKED_FEATURE_GATES[name];
    if (locked !== undefined && value !== locked) {
      errs.push(new ConfigError('featureGates', `cannot set feature gate ${name} to ${String(value)}, feature is locked to ${String(locked)}`));
    }
  }
  return errs;
}
