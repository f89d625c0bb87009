//! The body of an environment's page: objects with health and drift, the field-level
//! diff with Sync, pods, Events, log tails.

use maud::{Markup, html};
use serde_json::Value;
use tenantry_core::Role;
use tenantry_core::fleet::SyncState;
use tenantry_engine::fleet::{EventLine, LogTail};

use crate::fleet::EnvPage;
use crate::fleet_words::{health_badge, reason_shown, sync_badge};
use crate::html::{Ctx, status_badge, urlencode, when};

type Read<T> = Result<Result<T, tenantry_engine::DeployError>, tokio::time::error::Elapsed>;

fn value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn unread<T>(ctx: &Ctx, r: &Read<T>) -> Option<String> {
    match r {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(ctx.t("the cluster did not answer within 3 s").to_owned()),
    }
}

pub fn body(
    ctx: &Ctx,
    env: &EnvPage,
    ns: &str,
    lines: u32,
    events: Read<Vec<EventLine>>,
    logs: Read<Vec<LogTail>>,
) -> Markup {
    let t = |s| ctx.t(s);
    let r = &env.report.row;
    let out_of_sync: Vec<_> = env
        .report
        .objects
        .iter()
        .filter(|o| o.sync != SyncState::InSync)
        .collect();
    let failed_last = r
        .last_run
        .as_ref()
        .is_some_and(|run| run.status == tenantry_store::RunStatus::Failed);
    html! {
        (env_summary(ctx, env))
        h2 { (t("Objects")) }
        table #objects {
            thead { tr { th { (t("Kind")) } th { (t("Name")) } th { (t("Health")) } th { (t("Sync")) } th { (t("Reason")) } } }
            tbody {
                @for o in &env.report.objects {
                    tr data-object={(o.kind) "/" (o.name)} data-sync=(o.sync.as_str()) {
                        td { (o.kind) } td { (o.name) } td { (health_badge(ctx.lang, o.health)) } td { (sync_badge(ctx.lang, o.sync)) }
                        td.reason { (reason_shown(ctx.lang, &o.reason)) }
                    }
                }
            }
        }
        h2 { (t("Drift")) }
        @if out_of_sync.is_empty() {
            p.empty #drift { (t("The cluster is as the last revision.")) }
        } @else {
            div #drift {
                p.muted { (t("Compared with the last revision, on the fields tenantry sets; secrets masked.")) }
                @for o in &out_of_sync {
                    section.panel data-drift={(o.kind) "/" (o.name)} {
                        h3 { (o.kind) " " (o.name) " " (sync_badge(ctx.lang, o.sync)) }
                        @match o.sync {
                            SyncState::Missing => p { (t("Not in the cluster: a sync creates it.")) },
                            SyncState::Extra => p { (t("Labelled as this client's but not rendered: a sync leaves it; delete it or remove the label.")) },
                            _ => table.diff {
                                thead { tr { th { (t("Field")) } th { (t("Rendered")) } th { (t("Live")) } } }
                                tbody {
                                    @for d in &o.diff {
                                        tr { td { code { (d.path) } } td.old { pre { (value(Some(&d.desired))) } } td.new { pre { (value(d.live.as_ref())) } } }
                                    }
                                }
                            },
                        }
                    }
                }
                @if can_sync(ctx) {
                    form method="post" action={"/clients/" (r.client) "/deploy"} data-confirm=(t("Deploy this client now?")) {
                        (ctx.csrf())
                        input type="hidden" name="namespace" value=(ns);
                        button #sync type="submit" { (t("Sync")) }
                        " " span.muted { (t("deploys today's rendering, which converges every field above")) }
                    }
                    @if failed_last {
                        p.muted { (t("The last run failed: to go back to the last revision, roll back on the client's card.")) }
                    }
                }
            }
        }
        h2 { (t("Pods")) }
        @if env.report.pods.is_empty() { p.empty { (t("No pods.")) } } @else { (crate::runs::pods_table(ctx, &env.report.pods)) }
        h2 { (t("Events")) }
        @match &events {
            Ok(Ok(list)) if list.is_empty() => p.empty #events { (t("No Events.")) },
            Ok(Ok(list)) => table #events {
                thead { tr { th { (t("Time")) } th { (t("Type")) } th { (t("Object")) } th { (t("Reason")) } th { (t("Message")) } th { "×" } } }
                tbody {
                    @for e in list {
                        tr class=(e.kind.to_ascii_lowercase()) { td { (when(&e.at)) } td { (e.kind) } td { (e.object) } td { (e.reason) } td { (e.message) } td { (e.count) } }
                    }
                }
            },
            _ => p.muted #events { (unread(ctx, &events).unwrap_or_default()) },
        }
        h2 { (t("Logs")) }
        p {
            a #refresh-logs href={"/clients/" (r.client) "/environments/" (urlencode(ns)) "?tailLines=" (lines)} { (t("Refresh")) }
            " · " (t("last lines")) ": "
            @for n in [50u32, 200, 1000] {
                @if n == lines { b { (n) } } @else { a href={"/clients/" (r.client) "/environments/" (urlencode(ns)) "?tailLines=" (n)} { (n) } } " "
            }
        }
        @match &logs {
            Ok(Ok(list)) if list.is_empty() => p.empty #logs { (t("No pods.")) },
            Ok(Ok(list)) => div #logs {
                @for l in list {
                    section.panel data-pod=(l.pod) {
                        h3 { (l.pod) }
                        @if l.readable { pre.log { (l.text) } } @else { p.muted { (l.text) } }
                    }
                }
            },
            _ => p.muted #logs { (unread(ctx, &logs).unwrap_or_default()) },
        }
    }
}

fn can_sync(ctx: &Ctx) -> bool {
    ctx.can(Role::Operator)
}

fn env_summary(ctx: &Ctx, env: &EnvPage) -> Markup {
    let t = |s| ctx.t(s);
    let r = &env.report.row;
    html! {
        section.card #environment data-health=(r.health.as_str().to_ascii_lowercase()) data-drifted=(r.drifted) {
            dl {
                dt { (t("Client")) } dd { a href={"/clients/" (r.client)} { (r.client) " · " (env.organisation) } }
                dt { (t("Namespace")) } dd { (r.namespace) }
                dt { (t("Health")) } dd { (health_badge(ctx.lang, r.health)) }
                dt { (t("Sync")) } dd { @if r.drifted { span.badge.drifted { (t("drifted")) } } @else { (t("in sync")) } }
                dt { (t("Revision")) } dd { @if let Some(n) = r.revision { (n) @if let Some(i) = &r.image { " · " code { (i) } } } @else { "—" } }
                dt { (t("Last run")) } dd { @if let Some(run) = &r.last_run { a href={"/runs/" (run.id)} { (t("Run")) " " (run.id) } " " (status_badge(ctx.lang, run.status.as_str())) } @else { "—" } }
            }
            @if !r.reason.is_empty() { p.reason role="status" { (reason_shown(ctx.lang, &r.reason)) } }
        }
    }
}
