//! Request templates in the catalog (R3): the current version of each, and every earlier
//! version with who saved it and when, so any of them can be restored.

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::Row;
use tenantry_core::default_templates::{default_templates, teardown_templates};
use tenantry_core::template::{Template, TemplateName};
use tenantry_core::template_check::{self, Found};

use crate::db::{Catalog, now};
use crate::error::StoreError;

/// A template as stored: its content and its current version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StoredTemplate {
    pub template: Template,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
}

/// One saved version of a template.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct TemplateVersion {
    pub version: i64,
    pub created_at: String,
    pub created_by: String,
    pub note: String,
    pub template: Template,
}

fn parse_stored(name: &str, content: &str) -> Result<Template, StoreError> {
    Template::parse(content).map_err(|e| StoreError::Corrupt(format!("template {name}: {e}")))
}

impl Catalog {
    /// All templates, in name order.
    pub async fn templates(&self) -> Result<Vec<StoredTemplate>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, version, content, updated_at, updated_by FROM templates ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.try_get(0)?;
                let content: String = r.try_get(2)?;
                Ok(StoredTemplate {
                    template: parse_stored(&name, &content)?,
                    version: r.try_get(1)?,
                    updated_at: r.try_get(3)?,
                    updated_by: r.try_get(4)?,
                })
            })
            .collect()
    }

    pub async fn template(&self, name: &TemplateName) -> Result<StoredTemplate, StoreError> {
        self.templates()
            .await?
            .into_iter()
            .find(|t| &t.template.name == name)
            .ok_or_else(|| StoreError::TemplateNotFound(name.to_string()))
    }

    /// What is wrong with `changed` if they were saved: macros no parameter defines,
    /// an order that no longer resolves, bodies that are no objects, secrets in names.
    /// Callers refuse to save when there are any, unless told to save anyway (secrets in
    /// names are refused by [`Catalog::save_template`] itself).
    pub async fn template_problems(&self, changed: &[Template]) -> Result<Vec<Found>, StoreError> {
        let defs = self.param_defs().await?;
        let known: BTreeSet<String> = defs.iter().map(|d| d.name.to_string()).collect();
        let secret: BTreeSet<String> = defs
            .iter()
            .filter(|d| d.kind.is_secret())
            .map(|d| d.name.to_string())
            .collect();
        let stored: Vec<Template> = self
            .templates()
            .await?
            .into_iter()
            .map(|t| t.template)
            .collect();
        Ok(template_check::check(
            changed,
            &known,
            &|m| secret.contains(m),
            &stored,
        ))
    }

    /// Saves a template as its new current version; saving what is already current
    /// changes nothing. Returns the stored template.
    pub async fn save_template(
        &self,
        template: &Template,
        by: &str,
        note: &str,
    ) -> Result<StoredTemplate, StoreError> {
        let secret: std::collections::BTreeSet<String> = self
            .param_defs()
            .await?
            .into_iter()
            .filter(|d| d.kind.is_secret())
            .map(|d| d.name.to_string())
            .collect();
        let problems = template.secrets_in_names(&|m| secret.contains(m));
        if !problems.is_empty() {
            return Err(StoreError::SecretInName {
                template: template.name.to_string(),
                problems: problems.join("; "),
            });
        }
        let mut tx = self.begin().await?;
        let content = template.to_file();
        let name = template.name.as_str();
        let current = sqlx::query("SELECT version, content FROM templates WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let version = match &current {
            Some(r) => {
                let v: i64 = r.try_get(0)?;
                let c: String = r.try_get(1)?;
                if c == content {
                    tx.rollback().await?;
                    return self.template(&template.name).await;
                }
                v + 1
            }
            None => 1,
        };
        let now = now();
        sqlx::query(
            "INSERT INTO template_versions (name, version, content, created_at, created_by, note) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(name)
        .bind(version)
        .bind(&content)
        .bind(&now)
        .bind(by)
        .bind(note)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO templates (name, version, content, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, content = excluded.content, \
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(name)
        .bind(version)
        .bind(&content)
        .bind(&now)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(template = name, version, "template saved");
        self.template(&template.name).await
    }

    /// Every version of a template, newest first.
    pub async fn template_history(
        &self,
        name: &TemplateName,
    ) -> Result<Vec<TemplateVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, content, created_at, created_by, note FROM template_versions WHERE name = $1 ORDER BY version DESC",
        )
        .bind(name.as_str())
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(StoreError::TemplateNotFound(name.to_string()));
        }
        rows.iter()
            .map(|r| {
                let content: String = r.try_get(1)?;
                Ok(TemplateVersion {
                    version: r.try_get(0)?,
                    template: parse_stored(name.as_str(), &content)?,
                    created_at: r.try_get(2)?,
                    created_by: r.try_get(3)?,
                    note: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Makes an old version current again, as a new version.
    pub async fn restore_template(
        &self,
        name: &TemplateName,
        version: i64,
        by: &str,
    ) -> Result<StoredTemplate, StoreError> {
        let old = self
            .template_history(name)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or_else(|| StoreError::TemplateVersionNotFound {
                name: name.to_string(),
                version,
            })?;
        self.save_template(&old.template, by, &format!("restored version {version}"))
            .await
    }

    /// Brings the default templates back to their shipped content (a new version where
    /// they differ). Templates of the operators' own are left alone.
    pub async fn reset_default_templates(
        &self,
        by: &str,
    ) -> Result<Vec<StoredTemplate>, StoreError> {
        let mut out = Vec::new();
        for t in default_templates().into_iter().chain(teardown_templates()) {
            out.push(self.save_template(&t, by, "reset to the default").await?);
        }
        Ok(out)
    }

    pub(crate) async fn seed_templates_once(&self) -> Result<(), StoreError> {
        use crate::db::{SEEDED_TEARDOWN, SEEDED_TEMPLATES, mark_seeded};
        if mark_seeded(&self.pool, SEEDED_TEMPLATES).await? {
            for t in default_templates() {
                self.save_template(&t, "tenantry", "default").await?;
            }
        }
        // The teardown templates came later: catalogs seeded before get them once too,
        // unless one of the name already exists.
        if mark_seeded(&self.pool, SEEDED_TEARDOWN).await? {
            let existing: Vec<String> = self
                .templates()
                .await?
                .into_iter()
                .map(|t| t.template.name.to_string())
                .collect();
            for t in teardown_templates() {
                if !existing.contains(&t.name.to_string()) {
                    self.save_template(&t, "tenantry", "default").await?;
                }
            }
        }
        Ok(())
    }
}
