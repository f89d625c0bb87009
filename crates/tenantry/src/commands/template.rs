//! `tenantry template …`: request templates with history, as files for git.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use tenantry_core::template::{Template, TemplateName, execution_order};
use tenantry_core::template_check::TemplateProblem;
use tenantry_store::{Catalog, StoredTemplate};

use crate::cli::TemplateCmd;
use crate::commands::actor;
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: TemplateCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        TemplateCmd::List => list(catalog, format).await?,
        TemplateCmd::Show { name, version } => {
            let t = match version {
                None => catalog.template(&name).await?.template,
                Some(v) => catalog
                    .template_history(&name)
                    .await?
                    .into_iter()
                    .find(|h| h.version == v)
                    .map(|h| h.template)
                    .ok_or_else(|| anyhow::anyhow!("template {name} has no version {v}"))?,
            };
            match format {
                Format::Json => json(&t)?,
                Format::Text => print!("{}", t.to_file()),
            }
        }
        TemplateCmd::Edit {
            name,
            file,
            note,
            force,
        } => {
            let text = match &file {
                Some(f) => read(f)?,
                None => edit_in_editor(&catalog.template(&name).await?.template)?,
            };
            let t = parse_file(&text, file.as_deref())?;
            anyhow::ensure!(
                t.name == name,
                "the file describes template {}, not {name}; add a new template with `tenantry template import`",
                t.name
            );
            check_against_catalog(catalog, std::slice::from_ref(&t), force).await?;
            let before = catalog.template(&name).await?.version;
            let saved = catalog.save_template(&t, &actor(), &note).await?;
            report_saved(&saved, before, format)?;
        }
        TemplateCmd::Import { files, note, force } => {
            let mut parsed = Vec::new();
            let mut errors = Vec::new();
            for f in &files {
                match read(f).and_then(|text| parse_file(&text, Some(f))) {
                    Ok(t) => parsed.push(t),
                    Err(e) => errors.push(format!("{e:#}")),
                }
            }
            anyhow::ensure!(
                errors.is_empty(),
                "nothing was imported:\n{}",
                errors.join("\n")
            );
            check_against_catalog(catalog, &parsed, force).await?;
            let mut saved = Vec::new();
            for t in &parsed {
                saved.push(catalog.save_template(t, &actor(), &note).await?);
            }
            match format {
                Format::Json => json(&saved)?,
                Format::Text => {
                    for s in &saved {
                        outln!("imported {} (version {})", s.template.name, s.version);
                    }
                }
            }
        }
        TemplateCmd::Export { dir, names } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let all = catalog.templates().await?;
            for n in &names {
                anyhow::ensure!(
                    all.iter().any(|t| &t.template.name == n),
                    "no template {n:?}"
                );
            }
            let mut written = Vec::new();
            for t in all
                .iter()
                .filter(|t| names.is_empty() || names.contains(&t.template.name))
            {
                let path = dir.join(format!("{}.json", t.template.name));
                std::fs::write(&path, t.template.to_file())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written.push(path.display().to_string());
            }
            match format {
                Format::Json => json(&written)?,
                Format::Text => {
                    for w in &written {
                        outln!("wrote {w}");
                    }
                }
            }
        }
        TemplateCmd::History { name } => {
            let h = catalog.template_history(&name).await?;
            match format {
                Format::Json => json(&h)?,
                Format::Text => {
                    let mut t = Table::new(&["VERSION", "SAVED", "BY", "NOTE"]);
                    for v in &h {
                        t.row(vec![
                            v.version.to_string(),
                            v.created_at.clone(),
                            v.created_by.clone(),
                            v.note.clone(),
                        ]);
                    }
                    t.print();
                }
            }
        }
        TemplateCmd::Restore { name, version } => {
            let before = catalog.template(&name).await?.version;
            let saved = catalog.restore_template(&name, version, &actor()).await?;
            report_saved(&saved, before, format)?;
        }
        TemplateCmd::Validate { names, files } => validate(catalog, names, files, format).await?,
        TemplateCmd::ResetDefaults => {
            let saved = catalog.reset_default_templates(&actor()).await?;
            match format {
                Format::Json => json(&saved)?,
                Format::Text => {
                    for s in &saved {
                        outln!("{} is at version {}", s.template.name, s.version);
                    }
                }
            }
        }
        TemplateCmd::Enable { name } => toggle(catalog, &name, true, format).await?,
        TemplateCmd::Disable { name } => toggle(catalog, &name, false, format).await?,
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn parse_file(text: &str, path: Option<&Path>) -> anyhow::Result<Template> {
    Template::parse(text).map_err(|e| match path {
        Some(p) => anyhow::anyhow!("{}: {e}", p.display()),
        None => anyhow::anyhow!("{e}"),
    })
}

/// Checks templates as they would be after saving: every macro names a parameter, and
/// the whole set still has an execution order.
/// Refuses templates with problems (see `Catalog::template_problems`); with `force`
/// they are only warned about.
async fn check_against_catalog(
    catalog: &Catalog,
    changed: &[Template],
    force: bool,
) -> anyhow::Result<()> {
    let problems = catalog.template_problems(changed).await?;
    let text = problems
        .iter()
        .map(|f| match &f.problem {
            TemplateProblem::UnknownMacro {
                name,
                suggestion: None,
                ..
            } => format!("{f} (`tenantry param define {name}`)"),
            _ => f.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    if force && !problems.is_empty() {
        eprintln!("warning: saved anyway (--force):\n{text}");
        return Ok(());
    }
    anyhow::ensure!(
        problems.is_empty(),
        "{text}\nnothing was saved; fix the template, or give --force to save it as it is"
    );
    Ok(())
}

async fn validate(
    catalog: &Catalog,
    names: Vec<TemplateName>,
    files: Vec<PathBuf>,
    format: Format,
) -> anyhow::Result<()> {
    let mut checked = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match read(f).and_then(|text| parse_file(&text, Some(f))) {
            Ok(t) => checked.push(t),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    let stored = catalog.templates().await?;
    if names.is_empty() && files.is_empty() {
        checked.extend(stored.iter().map(|s| s.template.clone()));
    }
    for n in &names {
        match stored.iter().find(|s| &s.template.name == n) {
            Some(s) => checked.push(s.template.clone()),
            None => errors.push(format!("no template {n:?}")),
        }
    }
    if let Err(e) = check_against_catalog(catalog, &checked, false).await {
        errors.push(format!("{e:#}"));
    }
    anyhow::ensure!(errors.is_empty(), "{}", errors.join("\n"));
    match format {
        Format::Json => json(
            &checked
                .iter()
                .map(|t| json!({"name": t.name, "valid": true, "macros": t.macros_used()}))
                .collect::<Vec<_>>(),
        )?,
        Format::Text => {
            for t in &checked {
                let macros: Vec<String> = t.macros_used().into_iter().collect();
                outln!("ok  {}  (macros: {})", t.name, macros.join(", "));
            }
        }
    }
    Ok(())
}

async fn list(catalog: &Catalog, format: Format) -> anyhow::Result<()> {
    let all = catalog.templates().await?;
    let templates: Vec<Template> = all.iter().map(|s| s.template.clone()).collect();
    let ordered: Vec<TemplateName> = execution_order(&templates)
        .map(|o| o.iter().map(|t| t.name.clone()).collect())
        .unwrap_or_default();
    let mut rows: Vec<&StoredTemplate> = all.iter().collect();
    rows.sort_by_key(|s| {
        ordered
            .iter()
            .position(|n| n == &s.template.name)
            .unwrap_or(usize::MAX)
    });
    if format == Format::Json {
        return json(&rows);
    }
    let mut t = Table::new(&["#", "NAME", "METHOD", "PATH", "AFTER", "WAIT", "VERSION"]);
    for s in rows {
        let tpl = &s.template;
        let pos = ordered
            .iter()
            .position(|n| n == &tpl.name)
            .map_or("off".into(), |p| (p + 1).to_string());
        let after: Vec<String> = tpl.after.iter().map(ToString::to_string).collect();
        t.row(vec![
            pos,
            tpl.name.to_string(),
            tpl.method.to_string(),
            tpl.path.clone(),
            after.join(","),
            serde_json::to_value(tpl.wait)?
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            s.version.to_string(),
        ]);
    }
    t.print();
    Ok(())
}

async fn toggle(
    catalog: &Catalog,
    name: &TemplateName,
    enabled: bool,
    format: Format,
) -> anyhow::Result<()> {
    let current = catalog.template(name).await?;
    let mut t = current.template.clone();
    t.enabled = enabled;
    check_against_catalog(catalog, std::slice::from_ref(&t), false).await?;
    let note = if enabled { "enabled" } else { "disabled" };
    let saved = catalog.save_template(&t, &actor(), note).await?;
    report_saved(&saved, current.version, format)
}

fn report_saved(saved: &StoredTemplate, before: i64, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => json(saved),
        Format::Text => {
            if saved.version == before {
                outln!(
                    "{} is unchanged (version {})",
                    saved.template.name,
                    saved.version
                );
            } else {
                outln!("saved {} as version {}", saved.template.name, saved.version);
            }
            Ok(())
        }
    }
}

/// Opens the template in the user's editor; returns what was saved.
fn edit_in_editor(t: &Template) -> anyhow::Result<String> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .map_err(|_| anyhow::anyhow!("no editor: set VISUAL or EDITOR, or pass --file"))?;
    let path =
        std::env::temp_dir().join(format!("tenantry-{}-{}.json", t.name, std::process::id()));
    std::fs::write(&path, t.to_file())?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("cannot start the editor {editor:?}"))?;
    anyhow::ensure!(
        status.success(),
        "the editor exited with {status}; nothing was saved (your text is in {})",
        path.display()
    );
    let text = std::fs::read_to_string(&path)?;
    if Template::parse(&text).is_ok() {
        let _ = std::fs::remove_file(&path);
    } else {
        eprintln!(
            "your edit is kept in {}: fix it and run `tenantry template edit {} --file {0}`",
            path.display(),
            t.name
        );
    }
    Ok(text)
}
