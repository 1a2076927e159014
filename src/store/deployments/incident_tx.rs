//! An incident merged inside the write path's transaction (a webhook's
//! incident, e.g. a GitHub issue with the incident label), the one upsert
//! `Deployments::record_incident` (`POST /api/incidents`) runs as well.

use sqlx::{AnyConnection, Row};

use super::rows::{INCIDENT_SELECT, incident_row};
use super::write::IncidentWrite;
use crate::domain::deployment::{Incident, merge_incident};
use crate::store::rows::unix;
use crate::store::{Backend, ChangeEvent, Deployments, StoreError};

/// Inserts or merges `incident` on `conn` under its row's lock; answers
/// its row id, the stored incident and what changed. The caller commits
/// (and announces a change).
pub(in crate::store) async fn upsert_incident(
    conn: &mut AnyConnection,
    backend: Backend,
    incident: &Incident,
    now: i64,
) -> Result<(i64, Incident, IncidentWrite), StoreError> {
    // Compared with what is stored, at its precision.
    let incident = &incident.in_whole_seconds();
    let inserted = sqlx::query(
        "INSERT INTO incidents (external_id, repo, environment, title, url, opened_at, resolved_at, \
         changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (external_id) DO NOTHING RETURNING id",
    )
    .bind(incident.incident_id.as_str())
    .bind(incident.repo.as_deref())
    .bind(incident.environment.as_deref())
    .bind(incident.title.as_deref())
    .bind(incident.url.as_deref())
    .bind(incident.opened_at.timestamp())
    .bind(unix(incident.resolved_at))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = inserted {
        let stored = Incident { resolved_now: false, ..incident.clone() };
        return Ok((row.try_get(0)?, stored, IncidentWrite::Created));
    }
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {INCIDENT_SELECT}, id FROM incidents WHERE external_id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(incident.incident_id.as_str())
        .fetch_one(&mut *conn)
        .await?;
    let stored = incident_row(&row)?;
    let id: i64 = row.try_get(7)?;
    let merged = merge_incident(&stored, incident);
    if merged == stored {
        return Ok((id, stored, IncidentWrite::Unchanged));
    }
    sqlx::query(
        "UPDATE incidents SET repo = $1, environment = $2, title = $3, url = $4, opened_at = $5, \
         resolved_at = $6, changed_at = $7 WHERE external_id = $8",
    )
    .bind(merged.repo.as_deref())
    .bind(merged.environment.as_deref())
    .bind(merged.title.as_deref())
    .bind(merged.url.as_deref())
    .bind(merged.opened_at.timestamp())
    .bind(unix(merged.resolved_at))
    .bind(now)
    .bind(merged.incident_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok((id, merged, IncidentWrite::Changed))
}

impl Deployments<'_> {
    /// Records `incident`, merged with what is stored under its id
    /// (`domain::deployment::merge_incident`); answers the stored incident
    /// and what changed.
    ///
    /// Errors: [`StoreError::Unavailable`] when the database is down or busy.
    pub async fn record_incident(
        &self,
        incident: &Incident,
        now: i64,
    ) -> Result<(Incident, IncidentWrite), StoreError> {
        let mut tx = crate::store::begin_write_on(&self.write, self.backend).await?;
        let (id, stored, outcome) = upsert_incident(&mut tx, self.backend, incident, now).await?;
        tx.commit().await?;
        if outcome != IncidentWrite::Unchanged {
            self.publish_committed(&[ChangeEvent::Incident { id }]);
        }
        Ok((stored, outcome))
    }
}
