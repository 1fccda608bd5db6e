// The options of `--to k8s[:node]`: what the migrate command passes in, and what tests may fix.
export interface K8sOptions {
  /** the node `k8s:<node>` names; without it ocirt picks the best eligible node */
  node?: string
  /** kubeconfig file (else KUBECONFIG, ~/.kube/config, then the in-cluster service account) */
  kubeconfig?: string
  /** kubeconfig context (else its current-context) */
  context?: string
  /** this machine's node name (else env NODE_NAME, else os.hostname()) */
  selfNode?: string
  /** this machine's addresses (else every address of os.networkInterfaces()) */
  selfAddresses?: string[]
  /** the environment to read KUBECONFIG, NODE_NAME, HOME and KUBERNETES_SERVICE_HOST/PORT from (else process.env) */
  env?: Record<string, string | undefined>
  /** the in-cluster service account directory (else /var/run/secrets/kubernetes.io/serviceaccount) */
  serviceAccountDir?: string
  /** give up on the API server after this long (default 15000) */
  timeoutMs?: number
  /** the container being migrated, for error messages */
  id?: string
}
