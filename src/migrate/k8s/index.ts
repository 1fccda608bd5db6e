// `--to k8s[:node]`: choosing a Kubernetes node as the migration target. Importing this barrel loads no
// Kubernetes code; @kubernetes/client-node is imported when pickK8sTarget runs (client.ts).
export {pickK8sTarget, NoEligibleNode, type K8sPick} from './pick'
export {judgeNodes, type NodeVerdict, type V1NodeLike, type JudgeOptions} from './judge'
export type {K8sOptions} from './options'
export {ENABLED_LABEL, ANNOTATION, PREFIX} from './keys'
