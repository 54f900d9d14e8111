#!/usr/bin/env bash
# Deploys corral into namespace llm (seed 000's deploy-ollama-proxy.sh): applies the
# manifests, waits for the rollout, prints how to check it.
#   packaging/k8s/deploy.sh                       # kubectl's current context
#   CORRAL_IMAGE=registry.example/corral:0.1.0 packaging/k8s/deploy.sh
# The ServiceMonitor is applied when the Prometheus Operator's CRD is there; the HPA
# when prometheus-adapter serves external metrics, else the KEDA ScaledObject when KEDA
# is installed. Another metrics.namespace: tools/render-packaging NS DIR, then DIR/k8s/deploy.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ns=llm
kubectl=${KUBECTL:-kubectl}

$kubectl get namespace "$ns" >/dev/null 2>&1 || $kubectl create namespace "$ns"
$kubectl apply -f "$here/configmap.yaml" -f "$here/deployment.yaml" -f "$here/service.yaml" -f "$here/pdb.yaml"
if [[ -n ${CORRAL_IMAGE:-} ]]; then
  $kubectl -n "$ns" set image deployment/corral corral="$CORRAL_IMAGE"
fi
if $kubectl get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
  $kubectl apply -f "$here/servicemonitor.yaml"
else
  echo "deploy.sh: no Prometheus Operator (servicemonitors CRD): skipped servicemonitor.yaml" >&2
fi
if $kubectl get --raw /apis/external.metrics.k8s.io/v1beta1 >/dev/null 2>&1; then
  $kubectl apply -f "$here/hpa.yaml"
elif $kubectl get crd scaledobjects.keda.sh >/dev/null 2>&1; then
  $kubectl apply -f "$here/keda-scaledobject.yaml"
else
  echo "deploy.sh: neither prometheus-adapter nor KEDA: Ollama is not autoscaled (see README.md)" >&2
fi
$kubectl -n "$ns" rollout status deployment/corral --timeout=180s

cat <<TXT
corral is deployed in namespace $ns. Check it:
  kubectl get pods,svc,hpa,pdb -n $ns
  kubectl port-forward -n $ns svc/corral 11434:11434 &
  curl http://localhost:11434/health        # {"status":"ok","backends":[...]}
  curl http://localhost:11434/status        # every Ollama pod corral found via ollama-pods
  curl http://localhost:11434/metrics | grep utilization_ratio
In the cluster: OLLAMA_HOST=corral.$ns.svc.cluster.local:11434, or seed 000's
  http://ollama-proxy.$ns.svc.cluster.local:9090/proxy/api/generate
Logs: kubectl logs -n $ns deployment/corral -f
TXT
