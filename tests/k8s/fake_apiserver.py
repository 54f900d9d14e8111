"""Discovery-only Kubernetes API server on loopback for `kubectl apply --dry-run=client`.

kubectl maps each manifest's apiVersion/kind to a resource through the server's
discovery documents even in client dry-run; this serves those documents for exactly
the API groups corral's manifests use (so an unknown kind or version fails as it
would on a cluster without it) and answers every object GET with 404, so kubectl
plans a create. Nothing is stored. Usage: fake_apiserver.py PORTFILE
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# group/version -> [(plural, kind, namespaced)]
RESOURCES = {
    "v1": [("configmaps", "ConfigMap", True), ("services", "Service", True), ("namespaces", "Namespace", False)],
    "apps/v1": [("deployments", "Deployment", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "autoscaling/v2": [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    "monitoring.coreos.com/v1": [("servicemonitors", "ServiceMonitor", True)],
    "keda.sh/v1alpha1": [("scaledobjects", "ScaledObject", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resource_list(gv):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": VERBS}
                          for p, k, ns in RESOURCES[gv]]}


def group_list():
    groups = []
    for gv in RESOURCES:
        if "/" in gv:
            group, version = gv.split("/")
            entry = {"groupVersion": gv, "version": version}
            groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("fake-apiserver: %s %s\n" % (self.command, self.path))

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
        if path == "/apis":
            return self.send_json(200, group_list())
        gv = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
        if gv in RESOURCES:
            return self.send_json(200, resource_list(gv))
        if path == "/version":
            return self.send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                             "message": "not found (discovery-only test server)", "code": 404})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
