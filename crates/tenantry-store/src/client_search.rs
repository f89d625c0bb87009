//! Finding clients: the filter of a listing, and the search columns kept up to date on
//! every write (lower-cased names and e-mails, phone digits), so a search matches in SQL.

use sqlx::{Any, Row, Transaction};
use tenantry_core::ClientId;

use crate::clients::{Client, assemble, number_of};
use crate::db::Catalog;
use crate::error::StoreError;

/// Which clients a listing shows.
#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    pub include_archived: bool,
    pub only_archived: bool,
    /// Matches the id, the organisation, a contact's name, a phone (by digits) or an e-mail.
    pub search: Option<String>,
}

impl ClientFilter {
    fn archived_condition(&self) -> &'static str {
        if self.only_archived {
            "archived_at IS NOT NULL"
        } else if self.include_archived {
            "1 = 1"
        } else {
            "archived_at IS NULL"
        }
    }

    fn query(&self) -> Option<String> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase)
    }
}

/// Separates fields in `search_text`, so a search never matches across two of them.
const FIELD_SEP: char = '\u{1f}';

fn like_pattern(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Recomputes a client's search columns: its name, contact names and e-mails in lower
/// case (`search_text`), and the digits of every phone (`search_digits`).
pub(crate) async fn refresh_search(
    tx: &mut Transaction<'_, Any>,
    n: i64,
) -> Result<(), StoreError> {
    let name: String = sqlx::query("SELECT name FROM clients WHERE number = $1")
        .bind(n)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let contacts = sqlx::query("SELECT name FROM contacts WHERE client_number = $1")
        .bind(n)
        .fetch_all(&mut **tx)
        .await?;
    let points = sqlx::query("SELECT kind, value FROM contact_points WHERE client_number = $1")
        .bind(n)
        .fetch_all(&mut **tx)
        .await?;
    let mut text = vec![name.to_lowercase()];
    let mut digits = Vec::new();
    for r in &contacts {
        text.push(r.try_get::<String, _>(0)?.to_lowercase());
    }
    for r in &points {
        let kind: String = r.try_get(0)?;
        let value: String = r.try_get(1)?;
        if kind == "phone" {
            // The number's digits, not its extension's.
            let number = value.split_once(";ext=").map_or(value.as_str(), |(n, _)| n);
            digits.push(
                number
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>(),
            );
        } else {
            text.push(value.to_lowercase());
        }
    }
    sqlx::query("UPDATE clients SET search_text = $1, search_digits = $2 WHERE number = $3")
        .bind(text.join(&FIELD_SEP.to_string()))
        .bind(digits.join(" "))
        .bind(n)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Catalog {
    /// Every client's organisation name, by id (archived ones too): what lists of
    /// environments show beside ids, read in one query.
    pub async fn client_names(
        &self,
    ) -> Result<std::collections::HashMap<ClientId, String>, StoreError> {
        let rows = sqlx::query("SELECT number, name FROM clients")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((crate::db::client_at(r, 0)?, r.try_get(1)?)))
            .collect()
    }

    /// Clients in id order, filtered.
    pub async fn list_clients(&self, filter: &ClientFilter) -> Result<Vec<Client>, StoreError> {
        Ok(self.list_clients_page(filter, 0, i64::MAX).await?.0)
    }

    /// One page of clients in id order, and how many match in all. Only the page's
    /// clients are read; a search matches in SQL against columns kept up to date on every
    /// write (the id exactly; the organisation, contact names and e-mails as
    /// case-insensitive substrings; phones by three or more digits), so it stays fast
    /// with many thousands of clients.
    pub async fn list_clients_page(
        &self,
        filter: &ClientFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Client>, i64), StoreError> {
        let archived = filter.archived_condition();
        let (condition, text, number, digits) = match filter.query() {
            None => (archived.to_owned(), String::new(), -1, String::new()),
            Some(q) => {
                // A whole phone number is looked for as it is stored (8 495 … is +7 495 …).
                let digits: String = tenantry_core::Phone::parse(&q)
                    .map_or(q.clone(), |p| p.e164().to_owned())
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                let number = ClientId::parse(&q).map_or(-1, number_of);
                (
                    format!(
                        "{archived} AND (search_text LIKE $1 ESCAPE '\\' OR number = $2 OR ($3 <> '' AND search_digits LIKE $4 ESCAPE '\\'))"
                    ),
                    like_pattern(&q),
                    number,
                    if digits.len() >= 3 {
                        digits
                    } else {
                        String::new()
                    },
                )
            }
        };
        let searching = filter.query().is_some();
        let digits_pattern = like_pattern(&digits);
        let total_sql = format!("SELECT COUNT(*) FROM clients WHERE {condition}");
        let mut total = sqlx::query(sqlx::AssertSqlSafe(total_sql));
        if searching {
            total = total
                .bind(&text)
                .bind(number)
                .bind(&digits)
                .bind(&digits_pattern);
        }
        let total: i64 = total.fetch_one(&self.pool).await?.try_get(0)?;
        let (l, o) = if searching {
            ("$5", "$6")
        } else {
            ("$1", "$2")
        };
        let rows_sql = format!(
            "SELECT number, name, created_at, updated_at, archived_at FROM clients WHERE {condition} ORDER BY number LIMIT {l} OFFSET {o}"
        );
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(rows_sql));
        if searching {
            rows = rows
                .bind(&text)
                .bind(number)
                .bind(&digits)
                .bind(&digits_pattern);
        }
        let rows = rows
            .bind(limit.max(0))
            .bind(offset.max(0))
            .fetch_all(&self.pool)
            .await?;
        let numbers: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0).map(|n| n.to_string()))
            .collect::<Result<_, _>>()?;
        if numbers.is_empty() {
            return Ok((Vec::new(), total));
        }
        let list = numbers.join(",");
        let contacts = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, client_number, name, role, note FROM contacts WHERE client_number IN ({list}) ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        let points = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT client_number, contact_id, kind, value FROM contact_points WHERE client_number IN ({list}) ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok((assemble(rows, contacts, points)?, total))
    }

    /// Fills the search columns of clients that predate them.
    pub(crate) async fn backfill_search(&self) -> Result<(), StoreError> {
        let rows = sqlx::query("SELECT number FROM clients WHERE search_text = ''")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let n: i64 = r.try_get(0)?;
            let mut tx = self.begin().await?;
            refresh_search(&mut tx, n).await?;
            tx.commit().await?;
        }
        Ok(())
    }
}
