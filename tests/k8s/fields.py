"""Field check of corral's Kubernetes manifests against the API reference.

For every kind the manifests use (v1 ConfigMap and Service, apps/v1 Deployment,
policy/v1 PodDisruptionBudget, autoscaling/v2 HorizontalPodAutoscaler,
monitoring.coreos.com/v1 ServiceMonitor, keda.sh/v1alpha1 ScaledObject) the
schema below lists the reference's fields of each type used, their types,
which are required, and allowed values and ranges. Unknown fields (typos) are
errors, as they are on a server with strict field validation. Then the
manifests are checked against each other and against corral: selectors match
pod labels, named ports exist, the grace period covers preStop + drain + flush,
the pod's uid is the image's, the ConfigMap passes `corral --check-config`.

Usage: fields.py K8S_DIR CONTAINERFILE CORRAL_BIN; prints one line per check.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IANA_SVC_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # container port names, <= 15
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUANTITY = re.compile(r"^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?[0-9]+))?$")
DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")

# Field types: "string", "int", "bool", "quantity", "intorstring", "duration", "labels" (map of
# label values), "strmap", ["list", T], or a type name below. A trailing "!" marks a required field.
TYPES = {
    "ObjectMeta": {"name": "string!", "namespace": "string", "labels": "labels", "annotations": "strmap"},
    "LabelSelector": {"matchLabels": "labels", "matchExpressions": ["list", "LabelSelectorRequirement"]},
    "LabelSelectorRequirement": {"key": "string!", "operator": "string!", "values": ["list", "string"]},
    # v1 ConfigMap
    "ConfigMap": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!", "data": "strmap",
                  "binaryData": "strmap", "immutable": "bool"},
    # v1 Service
    "Service": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!", "spec": "ServiceSpec"},
    "ServiceSpec": {"selector": "labels", "ports": ["list", "ServicePort"], "clusterIP": "string", "type": "string",
                    "sessionAffinity": "string", "publishNotReadyAddresses": "bool",
                    "internalTrafficPolicy": "string", "externalTrafficPolicy": "string",
                    "ipFamilyPolicy": "string"},
    "ServicePort": {"name": "string", "port": "int!", "targetPort": "intorstring", "protocol": "string",
                    "appProtocol": "string", "nodePort": "int"},
    # apps/v1 Deployment
    "Deployment": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!", "spec": "DeploymentSpec!"},
    "DeploymentSpec": {"replicas": "int", "selector": "LabelSelector!", "template": "PodTemplateSpec!",
                       "strategy": "DeploymentStrategy", "minReadySeconds": "int", "revisionHistoryLimit": "int",
                       "progressDeadlineSeconds": "int", "paused": "bool"},
    "DeploymentStrategy": {"type": "string", "rollingUpdate": "RollingUpdateDeployment"},
    "RollingUpdateDeployment": {"maxSurge": "intorstring", "maxUnavailable": "intorstring"},
    "PodTemplateSpec": {"metadata": "TemplateMeta", "spec": "PodSpec"},
    "TemplateMeta": {"labels": "labels", "annotations": "strmap"},
    "PodSpec": {"containers": ["list", "Container"], "initContainers": ["list", "Container"],
                "volumes": ["list", "Volume"], "securityContext": "PodSecurityContext", "affinity": "Affinity",
                "terminationGracePeriodSeconds": "int", "serviceAccountName": "string",
                "automountServiceAccountToken": "bool", "enableServiceLinks": "bool", "nodeSelector": "strmap",
                "priorityClassName": "string", "topologySpreadConstraints": ["list", "TopologySpreadConstraint"],
                "tolerations": ["list", "Toleration"]},
    "Container": {"name": "string!", "image": "string", "imagePullPolicy": "string", "command": ["list", "string"],
                  "args": ["list", "string"], "env": ["list", "EnvVar"], "ports": ["list", "ContainerPort"],
                  "readinessProbe": "Probe", "livenessProbe": "Probe", "startupProbe": "Probe",
                  "lifecycle": "Lifecycle", "resources": "ResourceRequirements", "securityContext": "SecurityContext",
                  "volumeMounts": ["list", "VolumeMount"], "workingDir": "string"},
    "EnvVar": {"name": "string!", "value": "string"},
    "ContainerPort": {"name": "string", "containerPort": "int!", "protocol": "string", "hostPort": "int"},
    "Probe": {"httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction", "exec": "ExecAction",
              "initialDelaySeconds": "int", "periodSeconds": "int", "timeoutSeconds": "int",
              "successThreshold": "int", "failureThreshold": "int", "terminationGracePeriodSeconds": "int"},
    "HTTPGetAction": {"path": "string", "port": "intorstring!", "host": "string", "scheme": "string"},
    "TCPSocketAction": {"port": "intorstring!", "host": "string"},
    "ExecAction": {"command": ["list", "string"]},
    "Lifecycle": {"preStop": "LifecycleHandler", "postStart": "LifecycleHandler"},
    "LifecycleHandler": {"exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction"},
    "ResourceRequirements": {"requests": "quantities", "limits": "quantities"},
    "SecurityContext": {"allowPrivilegeEscalation": "bool", "readOnlyRootFilesystem": "bool",
                        "runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int", "privileged": "bool",
                        "capabilities": "Capabilities", "seccompProfile": "SeccompProfile"},
    "PodSecurityContext": {"runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int", "fsGroup": "int",
                           "seccompProfile": "SeccompProfile", "supplementalGroups": ["list", "int"]},
    "Capabilities": {"add": ["list", "string"], "drop": ["list", "string"]},
    "SeccompProfile": {"type": "string!", "localhostProfile": "string"},
    "VolumeMount": {"name": "string!", "mountPath": "string!", "readOnly": "bool", "subPath": "string"},
    "Volume": {"name": "string!", "configMap": "ConfigMapVolumeSource", "emptyDir": "EmptyDirVolumeSource",
               "persistentVolumeClaim": "PVCVolumeSource"},
    "ConfigMapVolumeSource": {"name": "string", "defaultMode": "int", "optional": "bool"},
    "EmptyDirVolumeSource": {"medium": "string", "sizeLimit": "quantity"},
    "PVCVolumeSource": {"claimName": "string!", "readOnly": "bool"},
    "Affinity": {"podAntiAffinity": "PodAntiAffinity", "podAffinity": "PodAntiAffinity"},
    "PodAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": ["list", "WeightedPodAffinityTerm"],
                        "requiredDuringSchedulingIgnoredDuringExecution": ["list", "PodAffinityTerm"]},
    "WeightedPodAffinityTerm": {"weight": "int!", "podAffinityTerm": "PodAffinityTerm!"},
    "PodAffinityTerm": {"topologyKey": "string!", "labelSelector": "LabelSelector", "namespaces": ["list", "string"]},
    "TopologySpreadConstraint": {"maxSkew": "int!", "topologyKey": "string!", "whenUnsatisfiable": "string!",
                                 "labelSelector": "LabelSelector"},
    "Toleration": {"key": "string", "operator": "string", "value": "string", "effect": "string"},
    # policy/v1 PodDisruptionBudget
    "PodDisruptionBudget": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!",
                            "spec": "PodDisruptionBudgetSpec"},
    "PodDisruptionBudgetSpec": {"minAvailable": "intorstring", "maxUnavailable": "intorstring",
                                "selector": "LabelSelector", "unhealthyPodEvictionPolicy": "string"},
    # autoscaling/v2 HorizontalPodAutoscaler
    "HorizontalPodAutoscaler": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!",
                                "spec": "HorizontalPodAutoscalerSpec!"},
    "HorizontalPodAutoscalerSpec": {"scaleTargetRef": "CrossVersionObjectReference!", "minReplicas": "int",
                                    "maxReplicas": "int!", "metrics": ["list", "MetricSpec"],
                                    "behavior": "HorizontalPodAutoscalerBehavior"},
    "CrossVersionObjectReference": {"apiVersion": "string", "kind": "string!", "name": "string!"},
    "MetricSpec": {"type": "string!", "external": "ExternalMetricSource", "resource": "ResourceMetricSource",
                   "pods": "ExternalMetricSource", "object": "ObjectMetricSource"},
    "ExternalMetricSource": {"metric": "MetricIdentifier!", "target": "MetricTarget!"},
    "ObjectMetricSource": {"describedObject": "CrossVersionObjectReference!", "metric": "MetricIdentifier!",
                           "target": "MetricTarget!"},
    "ResourceMetricSource": {"name": "string!", "target": "MetricTarget!"},
    "MetricIdentifier": {"name": "string!", "selector": "LabelSelector"},
    "MetricTarget": {"type": "string!", "value": "quantity", "averageValue": "quantity", "averageUtilization": "int"},
    "HorizontalPodAutoscalerBehavior": {"scaleUp": "HPAScalingRules", "scaleDown": "HPAScalingRules"},
    "HPAScalingRules": {"stabilizationWindowSeconds": "int", "selectPolicy": "string",
                        "policies": ["list", "HPAScalingPolicy"]},
    "HPAScalingPolicy": {"type": "string!", "value": "int!", "periodSeconds": "int!"},
    # monitoring.coreos.com/v1 ServiceMonitor (Prometheus Operator CRD)
    "ServiceMonitor": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!",
                       "spec": "ServiceMonitorSpec!"},
    "ServiceMonitorSpec": {"selector": "LabelSelector!", "endpoints": ["list", "SMEndpoint"], "jobLabel": "string",
                           "namespaceSelector": "NamespaceSelector", "targetLabels": ["list", "string"],
                           "podTargetLabels": ["list", "string"], "sampleLimit": "int"},
    "NamespaceSelector": {"any": "bool", "matchNames": ["list", "string"]},
    "SMEndpoint": {"port": "string", "targetPort": "intorstring", "path": "string", "scheme": "string",
                   "interval": "duration", "scrapeTimeout": "duration", "honorLabels": "bool"},
    # keda.sh/v1alpha1 ScaledObject (KEDA CRD)
    "ScaledObject": {"apiVersion": "string!", "kind": "string!", "metadata": "ObjectMeta!",
                     "spec": "ScaledObjectSpec!"},
    "ScaledObjectSpec": {"scaleTargetRef": "ScaleTarget!", "minReplicaCount": "int", "maxReplicaCount": "int",
                         "pollingInterval": "int", "cooldownPeriod": "int", "idleReplicaCount": "int",
                         "advanced": "ScaledObjectAdvanced", "triggers": ["list", "ScaleTrigger"],
                         "fallback": "strmap"},
    "ScaleTarget": {"name": "string!", "apiVersion": "string", "kind": "string", "envSourceContainerName": "string"},
    "ScaledObjectAdvanced": {"horizontalPodAutoscalerConfig": "KedaHPAConfig", "restoreToOriginalReplicaCount": "bool"},
    "KedaHPAConfig": {"behavior": "HorizontalPodAutoscalerBehavior", "name": "string"},
    "ScaleTrigger": {"type": "string!", "metadata": "strmap!", "name": "string", "metricType": "string",
                     "authenticationRef": "strmap"},
}

# Allowed values, from the reference.
ENUMS = {
    ("ServicePort", "protocol"): {"TCP", "UDP", "SCTP"}, ("ContainerPort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("ServiceSpec", "type"): {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
    ("DeploymentStrategy", "type"): {"RollingUpdate", "Recreate"},
    ("Container", "imagePullPolicy"): {"Always", "IfNotPresent", "Never"},
    ("SeccompProfile", "type"): {"RuntimeDefault", "Localhost", "Unconfined"},
    ("HTTPGetAction", "scheme"): {"HTTP", "HTTPS"},
    ("EmptyDirVolumeSource", "medium"): {"", "Memory"},
    ("MetricSpec", "type"): {"Object", "Pods", "Resource", "ContainerResource", "External"},
    ("MetricTarget", "type"): {"Utilization", "Value", "AverageValue"},
    ("HPAScalingRules", "selectPolicy"): {"Max", "Min", "Disabled"},
    ("HPAScalingPolicy", "type"): {"Pods", "Percent"},
    ("PodDisruptionBudgetSpec", "unhealthyPodEvictionPolicy"): {"IfHealthyBudget", "AlwaysAllow"},
    ("SMEndpoint", "scheme"): {"http", "https"},
    ("LabelSelectorRequirement", "operator"): {"In", "NotIn", "Exists", "DoesNotExist"},
}
# Inclusive integer ranges, from the reference.
RANGES = {
    ("ServicePort", "port"): (1, 65535), ("ServicePort", "targetPort"): (1, 65535),
    ("ContainerPort", "containerPort"): (1, 65535),
    ("HTTPGetAction", "port"): (1, 65535), ("TCPSocketAction", "port"): (1, 65535),
    ("WeightedPodAffinityTerm", "weight"): (1, 100),
    ("HPAScalingRules", "stabilizationWindowSeconds"): (0, 3600),
    ("HPAScalingPolicy", "value"): (1, 2**31 - 1), ("HPAScalingPolicy", "periodSeconds"): (1, 1800),
    ("HorizontalPodAutoscalerSpec", "minReplicas"): (1, 2**31 - 1),
    ("HorizontalPodAutoscalerSpec", "maxReplicas"): (1, 2**31 - 1),
    ("Probe", "periodSeconds"): (1, 2**31 - 1), ("Probe", "timeoutSeconds"): (1, 2**31 - 1),
    ("Probe", "failureThreshold"): (1, 2**31 - 1), ("DeploymentSpec", "replicas"): (0, 2**31 - 1),
    ("PodSpec", "terminationGracePeriodSeconds"): (0, 2**31 - 1),
}
KINDS = {("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"),
         ("autoscaling/v2", "HorizontalPodAutoscaler"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
         ("keda.sh/v1alpha1", "ScaledObject")}

errors = []
checks = 0


def err(path, msg):
    errors.append("%s: %s" % (path, msg))


def check_scalar(kind, v, path):
    if kind == "string" and not isinstance(v, str):
        err(path, "expected a string, got %r" % (v,))
    elif kind == "int" and (not isinstance(v, int) or isinstance(v, bool)):
        err(path, "expected an integer, got %r" % (v,))
    elif kind == "bool" and not isinstance(v, bool):
        err(path, "expected true or false, got %r" % (v,))
    elif kind == "intorstring" and not (isinstance(v, (int, str)) and not isinstance(v, bool)):
        err(path, "expected an integer or a string, got %r" % (v,))
    elif kind == "quantity" and not ((isinstance(v, int) and not isinstance(v, bool)) or
                                     (isinstance(v, str) and QUANTITY.match(v))):
        err(path, "expected a quantity, got %r" % (v,))
    elif kind == "duration" and not (isinstance(v, str) and DURATION.match(v)):
        err(path, "expected a Prometheus duration, got %r" % (v,))
    elif kind in ("strmap", "labels", "quantities"):
        if not isinstance(v, dict):
            return err(path, "expected a mapping")
        for k, x in v.items():
            if kind == "quantities":
                check_scalar("quantity", x, "%s.%s" % (path, k))
            elif not isinstance(x, str):
                err("%s.%s" % (path, k), "expected a string value, got %r (quote it)" % (x,))
            elif kind == "labels" and (len(x) > 63 or not LABEL_VALUE.match(x)):
                err("%s.%s" % (path, k), "invalid label value %r" % x)


def check(type_name, obj, path):
    if not isinstance(obj, dict):
        return err(path, "expected a %s mapping" % type_name)
    fields = TYPES[type_name]
    for field, spec in fields.items():
        if isinstance(spec, str) and spec.endswith("!") and field not in obj:
            err(path, "required field %s is missing (%s)" % (field, type_name))
    for field, value in obj.items():
        if field not in fields:
            err("%s.%s" % (path, field), "unknown field of %s" % type_name)
            continue
        spec = fields[field]
        here = "%s.%s" % (path, field)
        if isinstance(spec, list):
            if not isinstance(value, list):
                err(here, "expected a list")
                continue
            for i, item in enumerate(value):
                check_value(spec[1], item, "%s[%d]" % (here, i))
        else:
            check_value(spec.rstrip("!"), value, here)
        allowed = ENUMS.get((type_name, field))
        if allowed is not None and value not in allowed:
            err(here, "%r is not one of %s" % (value, sorted(allowed)))
        lo_hi = RANGES.get((type_name, field))
        if lo_hi and isinstance(value, int) and not lo_hi[0] <= value <= lo_hi[1]:
            err(here, "%d is outside %d..%d" % (value, lo_hi[0], lo_hi[1]))


def check_value(kind, value, path):
    if kind in TYPES:
        check(kind, value, path)
    else:
        check_scalar(kind, value, path)


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def ok(msg):
    global checks
    checks += 1
    print("ok: " + msg)


def load(k8s_dir):
    docs = []
    for name in sorted(os.listdir(k8s_dir)):
        if not name.endswith(".yaml") or name == "prometheus-adapter-values.yaml":  # Helm values, not objects
            continue
        for i, d in enumerate(yaml.safe_load_all(open(os.path.join(k8s_dir, name)))):
            if d is not None:
                docs.append(("%s#%d %s/%s" % (name, i, d.get("kind"), d.get("metadata", {}).get("name")), d))
    return docs


def check_objects(docs):
    for where, d in docs:
        if (d.get("apiVersion"), d.get("kind")) not in KINDS:
            err(where, "apiVersion/kind %s/%s is not one of the kinds checked here" % (d.get("apiVersion"),
                                                                                         d.get("kind")))
            continue
        check(d["kind"], d, where)
        meta = d.get("metadata", {})
        if not DNS_SUBDOMAIN.match(meta.get("name", "")) or len(meta.get("name", "")) > 253:
            err(where, "metadata.name is not a DNS subdomain")
        if not DNS_LABEL.match(meta.get("namespace", "")):
            err(where, "metadata.namespace missing or not a DNS label (every object names its namespace)")
        if d["kind"] == "Service" and not DNS_LABEL.match(meta.get("name", "")):
            err(where, "a Service name must be a DNS label")
    ok("%d objects: every field known to the API reference, types, required fields, enums, ranges" % len(docs))


def one(docs, kind, name=None):
    found = [d for _, d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if len(found) != 1:
        err(kind, "expected exactly one %s%s, found %d" % (kind, " " + name if name else "", len(found)))
        return {}
    return found[0]


def check_deployment(docs, containerfile, corral_bin):
    dep = one(docs, "Deployment", "corral")
    spec, pod = dep["spec"], dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    if not matches(spec["selector"]["matchLabels"], labels):
        err("Deployment", "selector does not match the pod template's labels")
    c = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for n in ports:
        if len(n) > 15 or not IANA_SVC_NAME.match(n):
            err("Deployment", "container port name %r is not an IANA_SVC_NAME (<= 15 chars)" % n)
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        p = c.get(probe)
        if not p:
            err("Deployment", "no %s" % probe)
            continue
        handlers = [h for h in ("httpGet", "tcpSocket", "exec") if h in p]
        if len(handlers) != 1:
            err("Deployment", "%s needs exactly one handler, has %s" % (probe, handlers))
        elif handlers[0] != "exec" and p[handlers[0]]["port"] not in list(ports) + list(ports.values()):
            err("Deployment", "%s port %r is not a container port" % (probe, p[handlers[0]]["port"]))
    if c["readinessProbe"].get("httpGet", {}).get("path") != "/health":
        err("Deployment", "readinessProbe must be GET /health")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    for path, name in mounts.items():
        if name not in volumes:
            err("Deployment", "volumeMount %s names no volume %s" % (path, name))
    if "/var/lib/corral" not in mounts or "emptyDir" not in volumes.get(mounts.get("/var/lib/corral"), {}):
        err("Deployment", "/var/lib/corral must be a writable emptyDir (or a PVC) under a read-only root")
    cm_name = volumes.get(mounts.get("/etc/corral"), {}).get("configMap", {}).get("name")
    ok("Deployment: selector matches its pods, probes use declared ports, mounts name volumes")

    sc, psc = c["securityContext"], pod["securityContext"]
    if not (sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False and
            psc.get("runAsNonRoot") and sc.get("capabilities", {}).get("drop") == ["ALL"]):
        err("Deployment", "securityContext must be non-root, read-only root, no privilege escalation, drop ALL")
    user = re.search(r"^USER\s+(\d+)", open(containerfile).read(), re.M)
    if not user or psc.get("runAsUser") != int(user.group(1)):
        err("Deployment", "runAsUser %s is not the image's USER %s" % (psc.get("runAsUser"), user and user.group(1)))
    anti = pod.get("affinity", {}).get("podAntiAffinity", {})
    terms = anti.get("preferredDuringSchedulingIgnoredDuringExecution", []) + \
        [{"podAffinityTerm": t} for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution", [])]
    if not any(matches(t["podAffinityTerm"].get("labelSelector", {}).get("matchLabels"), labels) and
               t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname" for t in terms):
        err("Deployment", "no pod anti-affinity by hostname against its own pods")
    ok("Deployment: non-root uid %s (the image's USER), read-only root, anti-affinity by node" % psc.get("runAsUser"))

    cm = one(docs, "ConfigMap", cm_name)
    text = cm.get("data", {}).get("corral.yaml")
    if text is None:
        return err("ConfigMap", "%s has no corral.yaml" % cm_name)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    run = subprocess.run([corral_bin, "--check-config", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    if run.returncode != 0:
        err("ConfigMap", "corral --check-config rejects it: " + run.stderr.strip())
    conf = yaml.safe_load(text)
    drain = int(str(conf.get("timeouts", {}).get("drain", "10s")).rstrip("s"))
    pre = c["lifecycle"]["preStop"]["exec"]["command"]
    sleep = int(pre[1]) if pre[0] == "sleep" else 0
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if sleep < 1 or grace < sleep + drain + 10:
        err("Deployment", "terminationGracePeriodSeconds %d < preStop sleep %d + drain %d + analytics flush 10" %
            (grace, sleep, drain))
    if ports.get("http") != int(conf["listen"].rsplit(":", 1)[1]):
        err("Deployment", "container port http is not the ConfigMap's listen port")
    ok("ConfigMap passes corral --check-config; grace %d s >= preStop %d + drain %d + flush 10" % (grace, sleep, drain))
    return labels, ports, conf


def check_services(docs, labels, ports, conf):
    services = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}
    for name in ("corral", "ollama-proxy"):
        s = services.get(name, {}).get("spec", {})
        if not matches(s.get("selector"), labels):
            err("Service " + name, "does not select corral's pods")
        for p in s.get("ports", []):
            if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                err("Service " + name, "targetPort %r is no container port" % p.get("targetPort"))
    if [p["port"] for p in services.get("corral", {}).get("spec", {}).get("ports", [])] != [11434]:
        err("Service corral", "must serve port 11434")
    if [p["port"] for p in services.get("ollama-proxy", {}).get("spec", {}).get("ports", [])] != [9090]:
        err("Service ollama-proxy", "must serve seed 000's port 9090")
    headless = services.get("ollama-pods", {}).get("spec", {})
    backend = [b for b in conf["backends"] if isinstance(b, dict) and b["url"].startswith("dns+http://")]
    if headless.get("clusterIP") != "None" or not backend or \
            not backend[0]["url"].startswith("dns+http://ollama-pods.llm.svc.cluster.local:%d" %
                                             headless["ports"][0]["port"]):
        err("Service ollama-pods", "must be headless and be what the ConfigMap's dns+http:// backend resolves")
    ok("Services: corral 11434 and seed 000's ollama-proxy 9090 select corral; headless ollama-pods is the backend")

    sm = one(docs, "ServiceMonitor", "corral")["spec"]
    picked = [n for n, s in services.items() if matches(sm["selector"]["matchLabels"], s["metadata"].get("labels", {}))]
    if picked != ["corral"]:
        err("ServiceMonitor", "must select exactly the corral Service (scraping each pod once), selects %s" % picked)
    port_names = [p.get("name") for p in services["corral"]["spec"]["ports"]]
    if any(e.get("port") not in port_names or e.get("path") != "/metrics" for e in sm["endpoints"]):
        err("ServiceMonitor", "endpoints must scrape a named port of the corral Service at /metrics")
    pdb = one(docs, "PodDisruptionBudget", "corral")["spec"]
    if ("minAvailable" in pdb) == ("maxUnavailable" in pdb):
        err("PodDisruptionBudget", "exactly one of minAvailable and maxUnavailable")
    if not matches(pdb["selector"]["matchLabels"], labels):
        err("PodDisruptionBudget", "does not select corral's pods")
    ok("ServiceMonitor scrapes the corral Service's /metrics once per pod; the PDB covers corral's pods")


def check_scaling(docs, k8s_dir):
    hpa = one(docs, "HorizontalPodAutoscaler", "ollama")["spec"]
    b = hpa["behavior"]
    want_up = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    want_down = [{"type": "Percent", "value": 10, "periodSeconds": 60}]
    if b["scaleUp"]["policies"] != want_up or b["scaleDown"]["policies"] != want_down or \
            b["scaleDown"]["stabilizationWindowSeconds"] != 300:
        err("HorizontalPodAutoscaler", "behavior is not seed 000's (+100 %/15 s up, -10 %/min down after 5 min)")
    if (hpa.get("minReplicas"), hpa["maxReplicas"]) != (1, 10):
        err("HorizontalPodAutoscaler", "replicas are not seed 000's 1..10")
    metric = hpa["metrics"][0]["external"]["metric"]["name"]
    adapter = yaml.safe_load(open(os.path.join(k8s_dir, "prometheus-adapter-values.yaml")))
    exposed = [r["name"]["as"] for r in adapter["rules"]["external"]]
    if metric not in exposed:
        err("HorizontalPodAutoscaler", "metric %s is not one prometheus-adapter exposes (%s)" % (metric, exposed))
    keda = one(docs, "ScaledObject", "ollama")["spec"]
    if keda["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]["policies"] != want_down or \
            (keda["minReplicaCount"], keda["maxReplicaCount"]) != (1, 10):
        err("ScaledObject", "KEDA's scaling differs from hpa.yaml's")
    ok("HPA: seed 000's behaviour on %s, which prometheus-adapter exposes; KEDA scales the same way" % metric)


def main():
    k8s_dir, containerfile, corral_bin = sys.argv[1:4]
    docs = load(k8s_dir)
    check_objects(docs)
    if not errors:
        labels, ports, conf = check_deployment(docs, containerfile, corral_bin)
        if not errors:
            check_services(docs, labels, ports, conf)
            check_scaling(docs, k8s_dir)
    for e in errors:
        print("FAIL: " + e)
    sys.exit(1 if errors else 0)


main()
