use dcc_store::pharmacies;
use dcc_store::{Backend, Store, StoreError};
use sqlx::Row;

use crate::support::{PHARMACY_A, TestDb, add_pharmacy};

pub async fn migrations_apply_twice(db: TestDb) {
    add_pharmacy(&db.store, PHARMACY_A, "APO1").await;

    let again = Store::connect(&db.url).await.unwrap();

    let applied = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(again.pool())
        .await
        .unwrap();
    let versions: Vec<i64> = applied
        .iter()
        .map(|row| row.try_get::<i64, _>("version").unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for row in &applied {
        assert_eq!(row.try_get::<String, _>("checksum").unwrap().len(), 64);
    }
    let kept = pharmacies::find(again.pool(), PHARMACY_A).await.unwrap();
    assert_eq!(kept.unwrap().issuer_segment, "APO1");
    again.close().await;
}

pub async fn migrations_refuse_changed_checksum(db: TestDb) {
    sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = 1")
        .bind("0".repeat(64))
        .execute(db.store.pool())
        .await
        .unwrap();

    let error = Store::connect(&db.url).await.unwrap_err();

    assert!(
        matches!(error, StoreError::ChecksumMismatch { version: 1 }),
        "{error:?}"
    );
}

pub async fn migrations_refuse_unknown_version(db: TestDb) {
    sqlx::query("INSERT INTO schema_migrations (version, description, checksum) VALUES (9999, 'future', $1)")
        .bind("0".repeat(64))
        .execute(db.store.pool())
        .await
        .unwrap();

    let error = Store::connect(&db.url).await.unwrap_err();

    assert!(
        matches!(error, StoreError::UnknownMigration { version: 9999 }),
        "{error:?}"
    );
}

pub async fn connection_settings_are_applied(db: TestDb) {
    let pool = db.store.pool();
    match db.backend {
        Backend::Sqlite => {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(pool)
                .await
                .unwrap();
            let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            assert_eq!(busy, 10_000);
            assert_eq!(foreign_keys, 1);
            // Negative: KiB, so the pool's page caches stay within 10 × 256 KiB.
            assert_eq!(cache, -256);
            // Transactions run on the writer connection, with its larger cache.
            let mut tx = db.store.begin().await.unwrap();
            let writer_cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let writer_busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let writer_foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.rollback().await.unwrap();
            assert_eq!(
                (writer_cache, writer_busy, writer_foreign_keys),
                (-8192, 10_000, 1)
            );
        }
        _ => {
            let database: String = sqlx::query_scalar("SELECT current_database()::TEXT")
                .fetch_one(pool)
                .await
                .unwrap();
            assert!(database.starts_with("dcc_test_"), "{database}");
        }
    }
}
