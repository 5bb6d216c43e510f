//! Creating and dropping PostgreSQL databases: for tests that need a fresh database each,
//! and for operators setting up a deployment.

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use crate::StoreError;
use crate::error::query_error;

/// Creates database `name` through the admin URL (a connection to any existing database) and
/// returns the URL of the new database. `name` must be lowercase letters, digits and `_`.
pub async fn create_postgres_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    let name = checked_name(name)?;
    let mut admin = connect(admin_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .map_err(query_error)?;
    admin.close().await.map_err(query_error)?;
    Ok(database_url(admin_url, name))
}

/// Drops database `name` (closing its connections) if it exists.
pub async fn drop_postgres_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let name = checked_name(name)?;
    let mut admin = connect(admin_url).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .map_err(query_error)?;
    admin.close().await.map_err(query_error)
}

async fn connect(admin_url: &str) -> Result<AnyConnection, StoreError> {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(admin_url)
        .await
        .map_err(StoreError::Connect)
}

fn checked_name(name: &str) -> Result<&str, StoreError> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(StoreError::InvalidDatabaseName(name.to_owned()))
    }
}

/// The admin URL with its database name replaced.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |index| index + 3);
    let authority = match base.get(scheme_end..).and_then(|rest| rest.find('/')) {
        Some(slash) => base.get(..scheme_end + slash).unwrap_or(base),
        None => base,
    };
    format!("{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            database_url(
                "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
                "x_1"
            ),
            "postgres://postgres@127.0.0.1:5432/x_1?sslmode=disable"
        );
        assert!(checked_name("Robert'); DROP").is_err());
    }
}
