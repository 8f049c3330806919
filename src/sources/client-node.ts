// The parts of client-node that run in the daemon, in one place: KubeConfig (kubeconfig files,
// in-cluster, client certificates, exec plugins, proxies: every request's credentials and TLS),
// Watch and ListWatch, and the request context they authenticate. Everything else of client-node
// (its generated API: ~20 MiB of module source held by V8, ~65 MiB of RSS in all) is never called.
// The image replaces this module with a bundle of just these exports (deploy/image/slim-client-node.mjs);
// in a checkout it is the package itself. Types are imported from the package directly.
export { HttpMethod, KubeConfig, ListWatch, RequestContext, Watch } from '@kubernetes/client-node';
