"""The official Kubernetes Python client against kubesim: create, list with selectors, watch.

Usage: client_check.py API_ROOT_URL TOKEN. Exits non-zero with a message on the first mismatch.
"""
import sys

from kubernetes import client, watch

url, token = sys.argv[1], sys.argv[2]
cfg = client.Configuration()
cfg.host = url
# The key the client has looked the bearer token up by since v36.
cfg.api_key = {"BearerToken": token}
cfg.api_key_prefix = {"BearerToken": "Bearer"}
api = client.ApiClient(cfg)
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)

for i, tier in enumerate(["web", "web", "db"]):
    core.create_namespaced_config_map(
        "default",
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"py{i}", labels={"tier": tier}), data={"k": str(i)}),
    )
names = [c.metadata.name for c in core.list_namespaced_config_map("default", label_selector="tier=web").items]
assert names == ["py0", "py1"], names
names = [c.metadata.name for c in core.list_namespaced_config_map("default", label_selector="tier notin (web)").items]
assert names == ["py2"], names

try:
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad-Name")))
    raise AssertionError("an upper-case name was accepted")
except client.ApiException as e:
    assert e.status == 422, e.status
    assert "is invalid" in e.body, e.body

rv = core.list_namespaced_config_map("default").metadata.resource_version
dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="pyweb"),
    spec=client.V1DeploymentSpec(
        replicas=1,
        selector=client.V1LabelSelector(match_labels={"app": "pyweb"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "pyweb"}),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="nginx:1")]),
        ),
    ),
)
apps.create_namespaced_deployment("default", dep)
core.delete_namespaced_config_map("py0", "default")

seen = []
w = watch.Watch()
for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2):
    seen.append((ev["type"], ev["object"].metadata.name))
    if len(seen) == 1:
        w.stop()
assert seen == [("DELETED", "py0")], seen

# A label-selected watch sees objects enter and leave its selection, as informers need:
# py2 relabelled into tier=web is ADDED, py1 relabelled out of it is DELETED.
rv = core.list_namespaced_config_map("default", label_selector="tier=web").metadata.resource_version
core.patch_namespaced_config_map("py2", "default", {"metadata": {"labels": {"tier": "web"}}})
core.patch_namespaced_config_map("py1", "default", {"metadata": {"labels": {"tier": "db"}}})
core.patch_namespaced_config_map("py1", "default", {"data": {"k": "changed"}})
seen = []
w = watch.Watch()
for ev in w.stream(core.list_namespaced_config_map, "default", label_selector="tier=web",
                   resource_version=rv, timeout_seconds=2):
    seen.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels["tier"]))
assert seen == [("ADDED", "py2", "web"), ("DELETED", "py1", "web")], seen

# Bodies are decoded as their kind's type: a wrong type is refused with its path; an
# unknown field is refused under fieldValidation=Strict, and otherwise dropped, not stored.
import json


def refused(call, status, words):
    try:
        call()
    except client.ApiException as e:
        assert e.status == status, (e.status, e.body)
        assert words in e.body, e.body
        return
    raise AssertionError(f"accepted; expected {status} with {words!r}")


bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"},
       "spec": {"replicas": "two", "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
refused(lambda: apps.create_namespaced_deployment("default", bad), 400, "spec.replicas")
loose = {"metadata": {"name": "loose"}, "data": {"k": "v"}, "dataa": {"k": "v"}}
refused(lambda: core.create_namespaced_config_map("default", loose, field_validation="Strict"),
        400, 'unknown field \\"dataa\\"')
core.create_namespaced_config_map("default", loose)
raw = json.loads(core.read_namespaced_config_map("loose", "default", _preload_content=False).data)
assert "dataa" not in raw and raw["data"] == {"k": "v"}, raw

# A Secret's stringData is stored as base64 data, as the API server stores it.
core.create_namespaced_secret("default", {"metadata": {"name": "plain"}, "data": {"a": "MQ=="},
                                          "stringData": {"b": "two"}})
raw = json.loads(core.read_namespaced_secret("plain", "default", _preload_content=False).data)
assert raw["data"] == {"a": "MQ==", "b": "dHdv"} and "stringData" not in raw, raw

# What an update may not change: an immutable ConfigMap's data, a Deployment's selector.
core.create_namespaced_config_map("default", {"metadata": {"name": "frozen"}, "data": {"k": "1"}, "immutable": True})
refused(lambda: core.patch_namespaced_config_map("frozen", "default", {"data": {"k": "2"}}),
        422, "field is immutable when `immutable` is set")
refused(lambda: apps.patch_namespaced_deployment("pyweb", "default",
                                                 {"spec": {"selector": {"matchLabels": {"app": "other"}},
                                                           "template": {"metadata": {"labels": {"app": "other"}}}}}),
        422, "spec.selector")

# A list's resourceVersion: a version not reached is a 504 (after the server waits for it),
# Exact at a past version that version's snapshot, a match without a version a 422.
now_rv = int(core.list_namespaced_config_map("default").metadata.resource_version)
refused(lambda: core.list_namespaced_config_map("default", resource_version=str(now_rv + 10**6),
                                                resource_version_match="NotOlderThan"),
        504, "Too large resource version")
core.create_namespaced_config_map("default", {"metadata": {"name": "later"}, "data": {"k": "v"}})
core.delete_namespaced_config_map("frozen", "default")
then = core.list_namespaced_config_map("default", resource_version=str(now_rv), resource_version_match="Exact")
names = sorted(cm.metadata.name for cm in then.items)
assert "later" not in names and "frozen" in names, names
assert then.metadata.resource_version == str(now_rv), then.metadata
# Pages after a continue token read the first page's snapshot.
first = core.list_namespaced_config_map("default", limit=1)
core.create_namespaced_config_map("default", {"metadata": {"name": "zz-after-first-page"}})
rest = core.list_namespaced_config_map("default", limit=100, _continue=first.metadata._continue)
assert "zz-after-first-page" not in [cm.metadata.name for cm in rest.items], rest.items
refused(lambda: core.list_namespaced_config_map("default", resource_version_match="NotOlderThan"),
        422, "forbidden unless resourceVersion is provided")
core.list_namespaced_config_map("default", resource_version=str(now_rv), resource_version_match="NotOlderThan")

ready = None
w = watch.Watch()
for ev in w.stream(apps.list_namespaced_deployment, "default", field_selector="metadata.name=pyweb", timeout_seconds=5):
    if (ev["object"].status.ready_replicas or 0) == 1:
        ready = ev["object"]
        w.stop()
assert ready is not None, "the Deployment never became ready"
assert any(c.type == "Available" and c.status == "True" for c in ready.status.conditions)

# A missing object's 404 carries its details (name and resource), which `kubectl debug` reads.
try:
    core.read_namespaced_config_map("nowhere", "default")
    raise AssertionError("a missing ConfigMap was found")
except client.ApiException as e:
    assert e.status == 404, e.status
    details = json.loads(e.body)["details"]
    assert details == {"name": "nowhere", "kind": "configmaps"}, details

# deletecollection with a selector deletes what it selects, and nothing else.
for n in ["gone-a", "gone-b"]:
    core.create_namespaced_config_map("default", {"metadata": {"name": n, "labels": {"sweep": "yes"}}})
core.delete_collection_namespaced_config_map("default", label_selector="sweep=yes")
left = [c.metadata.name for c in core.list_namespaced_config_map("default").items]
assert not any(n.startswith("gone-") for n in left) and "py1" in left, left

# A paused Deployment does not roll out a changed template; resumed, it does.
import time


def rs_images():
    sets = apps.list_namespaced_replica_set("default", label_selector="app=pyweb").items
    return sorted(rs.spec.template.spec.containers[0].image for rs in sets)


apps.patch_namespaced_deployment("pyweb", "default", {"spec": {"paused": True}})
apps.patch_namespaced_deployment("pyweb", "default", {"spec": {"template": {"spec": {
    "containers": [{"name": "c", "image": "nginx:2"}]}}}})
time.sleep(1)
assert rs_images() == ["nginx:1"], rs_images()
apps.patch_namespaced_deployment("pyweb", "default", {"spec": {"paused": False}})
deadline = time.time() + 15
while "nginx:2" not in rs_images() and time.time() < deadline:
    time.sleep(0.2)
assert "nginx:2" in rs_images(), rs_images()
print("python client: ok")
