//! The kubelet: scheduling onto a node, pull, start, ready, the ways a container fails
//! when a scenario says so, Events and logs.

// The controllers share the module's imports and helpers.
use super::*;

/// Records an Event about a pod from the kubelet of its node, counting repeats.
pub(super) fn event(
    sim: &Shared,
    state: &mut State,
    pod: &Value,
    kind: &str,
    reason: &str,
    message: &str,
) {
    let host = match s(pod, "/spec/nodeName") {
        "" => crate::nodes::NAMES[0],
        n => n,
    };
    let source = Source {
        component: "kubelet",
        host: Some(host),
        field_path: Some("spec.containers{}"),
    };
    object_event(sim, state, pod, "Pod", "v1", &source, kind, reason, message);
}

pub(super) fn exists(sim: &Shared, res: &Resource, ns: &str, name: &str) -> bool {
    sim.store.get(&Key::new(res, ns, name)).is_some()
}

/// What a Job container would print: its `echo` lines with env vars filled in.
pub(super) fn echo_lines(container: &Value) -> Vec<String> {
    let env: HashMap<String, String> = container
        .get("env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| (s(e, "/name").to_owned(), s(e, "/value").to_owned()))
        .collect();
    let script: Vec<&str> = container
        .get("args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    script
        .join("\n")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("echo "))
        .map(|l| {
            let mut out = l.trim_matches('"').to_owned();
            for (k, v) in &env {
                out = out.replace(&format!("${k}"), v);
            }
            out
        })
        .collect()
}

/// The kubelet's pass at the tick of `tick`: a pod first seen now counts its age from
/// the tick, so a timed step (schedule, pull, run) is seen done at the tick it ends,
/// not one tick later.
pub(super) fn kubelet(sim: &Shared, state: &mut State, tick: Instant) {
    let t = &sim.config.timings;
    let scenarios = sim.scenarios();
    let pods = all(sim, PODS);
    let live: std::collections::HashSet<String> = pods
        .iter()
        .map(|p| s(p, "/metadata/uid").to_owned())
        .collect();
    state.pods.retain(|uid, _| live.contains(uid));
    for pod in pods {
        let uid = s(&pod, "/metadata/uid").to_owned();
        let ns = s(&pod, "/metadata/namespace").to_owned();
        let name = s(&pod, "/metadata/name").to_owned();
        let sim_state = state.pods.entry(uid.clone()).or_insert_with(|| PodSim {
            created: tick,
            running_since: None,
            restarts: 0,
            backoff_until: None,
            pull_failures: 0,
            last_pull_failure: None,
            done: false,
            said: Vec::new(),
        });
        if sim_state.done {
            continue;
        }
        let age = sim_state.created.elapsed();
        let containers: Vec<Value> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // The container whose fate decides the pod's: the first one a scenario fails,
        // else the first. The others start beside it and share its pull and mounts.
        let lead = lead_of(&pod, &scenarios);
        let c = containers.get(lead).cloned().unwrap_or(json!({}));
        let cname = s(&c, "/name").to_owned();
        let image = s(&c, "/image").to_owned();
        let restart_policy = s(&pod, "/spec/restartPolicy").to_owned();
        let job_pod = restart_policy != "Always";
        let mut says: Vec<(&str, String, String)> = Vec::new();
        let say_once = |sim_state: &mut PodSim,
                        says: &mut Vec<(&str, String, String)>,
                        kind: &'static str,
                        reason: &str,
                        msg: String| {
            let k = format!("{reason}/{msg}");
            if !sim_state.said.contains(&k) {
                sim_state.said.push(k);
                says.push((kind, reason.to_owned(), msg));
            }
        };
        let start_time = pod
            .pointer("/status/startTime")
            .cloned()
            .unwrap_or(json!(now()));
        let mut status = json!({"phase": "Pending", "qosClass": "BestEffort", "startTime": start_time,
                                "hostIP": "10.0.0.10", "hostIPs": [{"ip": "10.0.0.10"}]});
        let prev = pod.get("status").cloned();
        let mut conditions = vec![];
        if age < t.schedule {
            set_status(
                sim,
                PODS,
                &pod,
                json!({"phase": "Pending", "qosClass": "BestEffort"}),
            );
            continue;
        }
        // The scheduler binds the pod to a node once (a DaemonSet's pods come bound).
        let node = match s(&pod, "/spec/nodeName") {
            "" => {
                let node = crate::nodes::for_pod(&uid);
                let _ = sim.store.modify(&Key::new(PODS, &ns, &name), |cur| {
                    let mut next = cur.clone();
                    next["spec"]["nodeName"] = json!(node);
                    Some(next)
                });
                node.to_owned()
            }
            n => n.to_owned(),
        };
        status["hostIP"] = json!(crate::nodes::ip(&node));
        status["hostIPs"] = json!([{"ip": crate::nodes::ip(&node)}]);
        say_once(
            sim_state,
            &mut says,
            "Normal",
            "Scheduled",
            format!("Successfully assigned {ns}/{name} to {node}"),
        );
        conditions.push(condition("PodScheduled", true, "", "", prev.as_ref()));
        let ip_octet = uid.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        status["podIP"] = json!(format!("10.244.0.{}", ip_octet.max(2)));
        status["podIPs"] = json!([{"ip": status["podIP"].clone()}]);
        // (state, ready, lastState, phase)
        let waiting = |reason: &str, message: &str| json!({"waiting": {"reason": reason, "message": message}});
        let prev_of = |name: &str| {
            prev.as_ref()
                .and_then(|p| p.get("containerStatuses"))
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|cs| cs["name"] == name))
                .cloned()
        };
        let mut last_state = prev_of(&cname)
            .and_then(|cs| cs.get("lastState").cloned())
            .unwrap_or(json!({}));
        let mut ready = false;
        let mut phase = "Pending";
        let since_scheduled = age - t.schedule;
        let missing_secret = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                v.pointer("/secret/secretName")
                    .and_then(Value::as_str)
                    .map(|sn| (s(v, "/name").to_owned(), sn.to_owned()))
            })
            .find(|(_, sn)| !exists(sim, resources::SECRETS, &ns, sn));
        let mounted = missing_secret.is_none() && since_scheduled >= t.pull;
        let cstate = if let Some((vol, secret)) = missing_secret {
            say_once(
                sim_state,
                &mut says,
                "Warning",
                "FailedMount",
                format!(
                    "MountVolume.SetUp failed for volume {vol:?} : secret {secret:?} not found"
                ),
            );
            sim_state.created = Instant::now() - t.schedule;
            waiting("ContainerCreating", "")
        } else if since_scheduled < t.pull {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulling",
                format!("Pulling image {image:?}"),
            );
            waiting("ContainerCreating", "")
        } else if scenarios
            .fail_image_pull
            .iter()
            .any(|p| glob_match(p, &image))
        {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulling",
                format!("Pulling image {image:?}"),
            );
            let now_i = Instant::now();
            if sim_state.backoff_until.is_none_or(|u| now_i >= u) {
                // A new pull attempt, and it fails.
                sim_state.pull_failures += 1;
                sim_state.last_pull_failure = Some(now_i);
                sim_state.backoff_until =
                    Some(now_i + t.backoff * (1 << sim_state.pull_failures.min(3)));
                let msg = format!(
                    "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                );
                says.push((
                    "Warning",
                    "Failed".into(),
                    format!("Failed to pull image {image:?}: {msg}"),
                ));
                says.push(("Warning", "Failed".into(), "Error: ErrImagePull".into()));
            }
            let failed_at = sim_state.last_pull_failure.unwrap_or(now_i);
            let not_found = format!(
                "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": {image}: not found"
            );
            if failed_at.elapsed() < t.pull.max(t.tick * 5) {
                waiting("ErrImagePull", &not_found)
            } else {
                says.push((
                    "Normal",
                    "BackOff".into(),
                    format!("Back-off pulling image {image:?}"),
                ));
                says.push(("Warning", "Failed".into(), "Error: ImagePullBackOff".into()));
                waiting(
                    "ImagePullBackOff",
                    &format!("Back-off pulling image \"{image}\": ErrImagePull: {not_found}"),
                )
            }
        } else {
            say_once(
                sim_state,
                &mut says,
                "Normal",
                "Pulled",
                format!("Successfully pulled image {image:?} in 1.2s"),
            );
            let missing_cm = c
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.pointer("/configMapRef/optional") != Some(&json!(true)))
                .filter_map(|e| e.pointer("/configMapRef/name").and_then(Value::as_str))
                .find(|cm| !exists(sim, resources::CONFIGMAPS, &ns, cm))
                .map(str::to_owned);
            if let Some(cm) = missing_cm {
                let msg = format!("configmap {cm:?} not found");
                says.push(("Warning", "Failed".into(), format!("Error: {msg}")));
                sim_state.created = Instant::now() - t.schedule - t.pull;
                waiting("CreateContainerConfigError", &msg)
            } else if sim_state.backoff_until.is_some_and(|u| Instant::now() < u) {
                says.push((
                    "Warning",
                    "BackOff".into(),
                    format!(
                        "Back-off restarting failed container {cname} in pod {name}_{ns}({uid})"
                    ),
                ));
                waiting(
                    "CrashLoopBackOff",
                    &format!(
                        "back-off {}s restarting failed container={cname} pod={name}_{ns}({uid})",
                        t.backoff.as_secs().max(10)
                    ),
                )
            } else {
                if sim_state.running_since.is_none() && sim_state.restarts > 0 {
                    // Started again after a crash: a new instance, with a log of its own.
                    sim.logs.restarted(&ns, &name);
                }
                let since = *sim_state.running_since.get_or_insert_with(Instant::now);
                if sim_state.restarts == 0 || since.elapsed() < t.tick * 2 {
                    say_once(
                        sim_state,
                        &mut says,
                        "Normal",
                        "Created",
                        format!("Created container {cname}"),
                    );
                    say_once(
                        sim_state,
                        &mut says,
                        "Normal",
                        "Started",
                        format!("Started container {cname}"),
                    );
                }
                let started_at = json!(now());
                let running = json!({"running": {"startedAt": prev_of(&cname).and_then(|cs| cs.pointer("/state/running/startedAt").cloned()).unwrap_or(started_at)}});
                let command = command_of(&c);
                let crashes = scenarios.crash_image.iter().any(|p| glob_match(p, &image));
                let job_fails = job_pod
                    && scenarios
                        .fail_job_command
                        .iter()
                        .any(|p| glob_match(p, &command));
                let slow = scenarios
                    .slow_ready
                    .iter()
                    .find(|(p, _)| glob_match(p, &image))
                    .map_or(Duration::ZERO, |(_, ms)| Duration::from_millis(*ms));
                let run_for = since.elapsed();
                if job_pod && run_for >= t.job_run {
                    let (code, reason) = if job_fails {
                        (1, "Error")
                    } else {
                        (0, "Completed")
                    };
                    if job_fails {
                        sim.append_log(&ns, &name, &format!("kubesim: the command of container {cname} failed (scenario fail_job_command)"));
                        sim.append_log(&ns, &name, "ERROR: setup failed");
                    } else {
                        for line in echo_lines(&c) {
                            sim.append_log(&ns, &name, &line);
                        }
                    }
                    phase = if job_fails { "Failed" } else { "Succeeded" };
                    sim_state.done = true;
                    json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now(), "containerID": format!("containerd://{uid}")}})
                } else if crashes && run_for >= t.crash_after {
                    sim.append_log(
                        &ns,
                        &name,
                        &format!(
                            "panic: kubesim: image {image} crashes on start (scenario crash_image)"
                        ),
                    );
                    sim.logs.ended(&ns, &name);
                    sim_state.restarts += 1;
                    sim_state.running_since = None;
                    sim_state.backoff_until =
                        Some(Instant::now() + t.backoff * (1 << sim_state.restarts.clamp(0, 3)));
                    last_state = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now(), "containerID": format!("containerd://{uid}")}});
                    says.push((
                        "Warning",
                        "BackOff".into(),
                        format!(
                            "Back-off restarting failed container {cname} in pod {name}_{ns}({uid})"
                        ),
                    ));
                    waiting(
                        "CrashLoopBackOff",
                        &format!(
                            "back-off {}s restarting failed container={cname} pod={name}_{ns}({uid})",
                            t.backoff.as_secs().max(10)
                        ),
                    )
                } else {
                    phase = "Running";
                    ready = !job_pod && !crashes && run_for >= t.start + t.ready + slow;
                    running
                }
            }
        };
        let started = cstate.get("running").is_some();
        if phase == "Pending" && started {
            phase = "Running";
        }
        if sim_state.restarts > 0 && phase == "Pending" {
            phase = "Running";
        }
        // Every container's status: the lead's as above, the others started beside it.
        let mut statuses = Vec::new();
        let mut unready = Vec::new();
        for (i, oc) in containers.iter().enumerate() {
            let name_i = s(oc, "/name").to_owned();
            let image_i = s(oc, "/image").to_owned();
            let (state_i, ready_i, restarts_i, last_i) = if i == lead {
                (
                    cstate.clone(),
                    ready && phase == "Running",
                    sim_state.restarts,
                    last_state.clone(),
                )
            } else {
                let before = prev_of(&name_i);
                let since = before
                    .as_ref()
                    .and_then(|cs| cs.pointer("/state/running/startedAt").cloned())
                    .unwrap_or_else(|| json!(now()));
                let state_i = if !mounted {
                    waiting("ContainerCreating", "")
                } else if matches!(phase, "Succeeded" | "Failed") {
                    json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": since, "finishedAt": now(), "containerID": format!("containerd://{uid}-{i}")}})
                } else {
                    json!({"running": {"startedAt": since}})
                };
                let ready_i = !job_pod
                    && state_i.get("running").is_some()
                    && since_scheduled >= t.pull + t.start + t.ready;
                (state_i, ready_i, 0, json!({}))
            };
            if !ready_i {
                unready.push(name_i.clone());
            }
            let started_i = state_i.get("running").is_some();
            let ran = started_i || state_i.get("terminated").is_some();
            let mut cs = json!({
                "name": name_i, "image": image_i,
                "imageID": if ran { format!("docker.io/{image_i}@sha256:0000") } else { String::new() },
                "ready": ready_i, "started": started_i, "restartCount": restarts_i,
                "state": state_i, "lastState": last_i,
            });
            if ran {
                cs["containerID"] = json!(if i == 0 {
                    format!("containerd://{uid}")
                } else {
                    format!("containerd://{uid}-{i}")
                });
            }
            statuses.push(cs);
        }
        let ready_s = unready.is_empty() && phase == "Running";
        let unready_msg = format!("containers with unready status: [{}]", unready.join(" "));
        conditions.insert(0, condition("Initialized", true, "", "", prev.as_ref()));
        conditions.push(condition(
            "ContainersReady",
            ready_s,
            if ready_s { "" } else { "ContainersNotReady" },
            if ready_s { "" } else { &unready_msg },
            prev.as_ref(),
        ));
        conditions.push(condition(
            "Ready",
            ready_s,
            if ready_s { "" } else { "ContainersNotReady" },
            if ready_s { "" } else { &unready_msg },
            prev.as_ref(),
        ));
        for cond in &mut conditions {
            if let Some(m) = cond.as_object_mut() {
                m.remove("lastUpdateTime");
                m.insert("lastProbeTime".into(), Value::Null);
                if m.get("reason").is_some_and(|r| r == "") {
                    m.remove("reason");
                    m.remove("message");
                }
            }
        }
        status["phase"] = json!(phase);
        status["conditions"] = Value::Array(conditions);
        status["containerStatuses"] = Value::Array(statuses);
        set_status(sim, PODS, &pod, status);
        for (kind, reason, msg) in says {
            event(sim, state, &pod, kind, &reason, &msg);
        }
    }
}

/// A container's command and args as the `fail_job_command` scenario matches them.
fn command_of(c: &Value) -> String {
    format!(
        "{} {}",
        c.get("command")
            .map(ToString::to_string)
            .unwrap_or_default(),
        c.get("args").map(ToString::to_string).unwrap_or_default()
    )
}

/// The index of a pod's lead container (see `lead_container`).
pub fn lead_of(pod: &Value, scenarios: &Scenarios) -> usize {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    lead_container(
        containers,
        scenarios,
        s(pod, "/spec/restartPolicy") != "Always",
    )
}

/// The container whose fate decides the pod's: the first whose image fails to pull, else
/// the first whose image crashes, else (a Job's pod) the first whose command fails, else
/// the first.
fn lead_container(containers: &[Value], scenarios: &Scenarios, job_pod: bool) -> usize {
    let image = |c: &Value| s(c, "/image").to_owned();
    let first = |f: &dyn Fn(&Value) -> bool| containers.iter().position(f);
    first(&|c| {
        scenarios
            .fail_image_pull
            .iter()
            .any(|p| glob_match(p, &image(c)))
    })
    .or_else(|| {
        first(&|c| {
            scenarios
                .crash_image
                .iter()
                .any(|p| glob_match(p, &image(c)))
        })
    })
    .or_else(|| {
        job_pod
            .then(|| {
                first(&|c| {
                    scenarios
                        .fail_job_command
                        .iter()
                        .any(|p| glob_match(p, &command_of(c)))
                })
            })
            .flatten()
    })
    .unwrap_or(0)
}
