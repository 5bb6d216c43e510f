//! The append-only, hash-chained audit log.
//!
//! Entries are written with [`append`] inside the transaction of the action they record, so an
//! action and its audit entry commit or vanish together. Each entry's `hash` covers its own
//! fields and the previous entry's hash; [`verify_chain`] recomputes the whole chain.
//!
//! # Hash encoding (version 1)
//!
//! `hash = lowercase_hex(SHA-256(message))`, where `message` is the concatenation of these
//! fields, in this order, each written as a 4-byte big-endian length followed by that many bytes:
//!
//! | # | field          | bytes                                                          |
//! |---|----------------|----------------------------------------------------------------|
//! | 1 | domain tag     | ASCII `dcc-store/audit/v1`                                     |
//! | 2 | `seq`          | 8 bytes, big-endian two's complement                           |
//! | 3 | `at`           | 8 bytes, big-endian two's complement (unix seconds)            |
//! | 4 | `kind`         | UTF-8                                                          |
//! | 5 | `telematik_id` | UTF-8; when absent the length is `0xFFFF_FFFF` and no bytes follow |
//! | 6 | `uvci`         | UTF-8; absent encoded like `telematik_id`                      |
//! | 7 | `detail`       | UTF-8 JSON text exactly as stored in `audit_log.detail`        |
//! | 8 | `prev_hash`    | the previous entry's `hash` as 64 ASCII hex characters         |
//!
//! The length prefix keeps field boundaries unambiguous, and the absent marker keeps "no value"
//! apart from the empty string. `detail` is hashed as stored text, not re-serialised, so the
//! hash does not depend on a JSON library's key order. The first entry (`seq` 1) has a
//! `prev_hash` of 64 zeros.
//!
//! # Serialising appenders
//!
//! A single row, `audit_head (id = 1, seq, hash)`, holds the latest entry. [`append`] updates it
//! **first**, with `UPDATE … RETURNING`: on PostgreSQL that row lock makes concurrent appenders
//! wait for each other's commit, so sequence numbers have no gaps and every entry links to its
//! true predecessor; on SQLite the store's transactions already hold the single write lock.
//!
//! # Append-only
//!
//! Database triggers reject UPDATE and DELETE on `audit_log` (and TRUNCATE on PostgreSQL).
//! `detail` must never contain personal data; that is the caller's responsibility.

use aws_lc_rs::digest;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::batch::{multi_row_insert, statement_chunks};
use crate::db::Store;
use crate::error::{StoreError, query_error};

/// An audit event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord<'a> {
    /// When it happened, unix seconds.
    pub at: i64,
    /// Event kind, a stable identifier such as `certificate.issued`.
    pub kind: &'a str,
    /// The pharmacy involved, if any.
    pub telematik_id: Option<&'a str>,
    /// The certificate involved, if any.
    pub uvci: Option<&'a str>,
    /// Structured detail; never personal data.
    pub detail: serde_json::Value,
}

/// An appended audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, starting at 1, without gaps.
    pub seq: i64,
    /// When it happened, unix seconds.
    pub at: i64,
    /// Event kind.
    pub kind: String,
    /// The pharmacy involved, if any.
    pub telematik_id: Option<String>,
    /// The certificate involved, if any.
    pub uvci: Option<String>,
    /// Detail as the JSON text that was stored and hashed.
    pub detail: String,
    /// Hash of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hash of this entry (see the module docs for the encoding).
    pub hash: String,
}

/// The outcome of [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Entries checked: all of them when the chain is intact, otherwise those up to and
    /// including the first broken one.
    pub entries: u64,
    /// The first place the chain is broken, if any.
    pub first_broken: Option<BrokenLink>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenLink {
    /// The entry at fault (for [`BrokenReason::HeadMismatch`], the sequence number the head
    /// claims).
    pub seq: i64,
    /// What is wrong there.
    pub reason: BrokenReason,
}

/// Why a link is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokenReason {
    /// The stored hash is not the hash of the entry's fields: the entry was altered.
    HashMismatch,
    /// The entry's `prev_hash` is not the previous entry's hash: entries were replaced or
    /// reordered.
    PrevHashMismatch,
    /// The sequence number is not the previous one plus one: entries are missing.
    SequenceGap,
    /// `audit_head` does not point at the last entry: the tail was cut off or the head altered.
    HeadMismatch,
}

/// Appends an entry inside the caller's transaction and returns it.
pub async fn append(
    tx: &mut Transaction<'_, Any>,
    record: &AuditRecord<'_>,
) -> Result<AuditEntry, StoreError> {
    append_batch(tx, std::slice::from_ref(record))
        .await?
        .pop()
        .ok_or(StoreError::Corrupt {
            table: "audit_head",
            column: "seq",
        })
}

/// Appends several entries, in the given order, inside the caller's transaction and returns
/// them. The head is advanced once for all of them and the rows go in with multi-row inserts,
/// so a batch costs a handful of statements however many entries it holds (group commit).
pub async fn append_batch(
    tx: &mut Transaction<'_, Any>,
    records: &[AuditRecord<'_>],
) -> Result<Vec<AuditEntry>, StoreError> {
    let Ok(count) = i64::try_from(records.len()) else {
        return Err(StoreError::BatchTooLarge);
    };
    if count == 0 {
        return Ok(Vec::new());
    }
    // Lock the head first; the returned hash is still the previous entry's.
    let head = sqlx::query(ADVANCE_HEAD)
        .bind(count)
        .fetch_optional(&mut **tx)
        .await
        .map_err(query_error)?
        .ok_or(StoreError::Corrupt {
            table: "audit_head",
            column: "id",
        })?;
    let last_seq: i64 = head.try_get("seq").map_err(query_error)?;
    let mut prev_hash: String = head.try_get("hash").map_err(query_error)?;
    let mut entries = Vec::with_capacity(records.len());
    for (seq, record) in (last_seq - count + 1..).zip(records) {
        let detail = serde_json::to_string(&record.detail).map_err(StoreError::Detail)?;
        let hash = entry_hash(
            seq,
            record.at,
            record.kind,
            record.telematik_id,
            record.uvci,
            &detail,
            &prev_hash,
        );
        entries.push(AuditEntry {
            seq,
            at: record.at,
            kind: record.kind.to_owned(),
            telematik_id: record.telematik_id.map(str::to_owned),
            uvci: record.uvci.map(str::to_owned),
            detail,
            prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        });
    }
    sqlx::query(SET_HEAD_HASH)
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await
        .map_err(query_error)?;
    for chunk in statement_chunks(&entries, INSERT_CHUNK) {
        let sql = multi_row_insert(INSERT_PREFIX, INSERT_COLUMNS, chunk.len(), "");
        let mut query = sqlx::query(sql);
        for entry in chunk {
            query = query
                .bind(entry.seq)
                .bind(entry.at)
                .bind(entry.kind.as_str())
                .bind(entry.telematik_id.as_deref())
                .bind(entry.uvci.as_deref())
                .bind(entry.detail.as_str())
                .bind(entry.prev_hash.as_str())
                .bind(entry.hash.as_str());
        }
        query.execute(&mut **tx).await.map_err(query_error)?;
    }
    Ok(entries)
}

/// Walks the whole log in `seq` order, a page at a time, inside one read-only snapshot, and
/// reports the first broken link. A broken chain is a finding, not an error: `Err` means the
/// database could not be read.
pub async fn verify_chain(store: &Store) -> Result<ChainReport, StoreError> {
    let mut tx = store.begin_snapshot().await?;
    let mut entries: u64 = 0;
    let mut last_seq: i64 = 0;
    let mut last_hash = GENESIS_HASH.to_owned();
    loop {
        let page = sqlx::query(PAGE)
            .bind(last_seq)
            .bind(PAGE_SIZE)
            .fetch_all(&mut *tx)
            .await
            .map_err(query_error)?;
        if page.is_empty() {
            break;
        }
        for row in &page {
            let entry = entry_from_row(row)?;
            entries += 1;
            let reason = if entry.seq != last_seq + 1 {
                Some(BrokenReason::SequenceGap)
            } else if entry.prev_hash != last_hash {
                Some(BrokenReason::PrevHashMismatch)
            } else if entry.hash != recompute(&entry) {
                Some(BrokenReason::HashMismatch)
            } else {
                None
            };
            if let Some(reason) = reason {
                tx.rollback().await.map_err(query_error)?;
                return Ok(ChainReport {
                    entries,
                    first_broken: Some(BrokenLink {
                        seq: entry.seq,
                        reason,
                    }),
                });
            }
            last_seq = entry.seq;
            last_hash = entry.hash;
        }
    }
    let head = sqlx::query(READ_HEAD)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query_error)?;
    tx.rollback().await.map_err(query_error)?;
    let head_seq = match head {
        Some(row) => {
            let seq: i64 = row.try_get("seq").map_err(query_error)?;
            let hash: String = row.try_get("hash").map_err(query_error)?;
            if seq == last_seq && hash == last_hash {
                return Ok(ChainReport {
                    entries,
                    first_broken: None,
                });
            }
            seq
        }
        None => last_seq,
    };
    Ok(ChainReport {
        entries,
        first_broken: Some(BrokenLink {
            seq: head_seq,
            reason: BrokenReason::HeadMismatch,
        }),
    })
}

fn recompute(entry: &AuditEntry) -> String {
    entry_hash(
        entry.seq,
        entry.at,
        &entry.kind,
        entry.telematik_id.as_deref(),
        entry.uvci.as_deref(),
        &entry.detail,
        &entry.prev_hash,
    )
}

/// The entry hash as documented in the module docs.
fn entry_hash(
    seq: i64,
    at: i64,
    kind: &str,
    telematik_id: Option<&str>,
    uvci: Option<&str>,
    detail: &str,
    prev_hash: &str,
) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    put_field(&mut context, Some(DOMAIN_TAG.as_bytes()));
    put_field(&mut context, Some(&seq.to_be_bytes()));
    put_field(&mut context, Some(&at.to_be_bytes()));
    put_field(&mut context, Some(kind.as_bytes()));
    put_field(&mut context, telematik_id.map(str::as_bytes));
    put_field(&mut context, uvci.map(str::as_bytes));
    put_field(&mut context, Some(detail.as_bytes()));
    put_field(&mut context, Some(prev_hash.as_bytes()));
    hex::encode(context.finish())
}

/// Writes one length-prefixed field; `None` is the absent marker.
fn put_field(context: &mut digest::Context, field: Option<&[u8]>) {
    match field {
        // Lengths beyond u32::MAX - 1 cannot reach here: the databases cap a TEXT value at
        // 1 GB, so saturating keeps this total without ever colliding with the absent marker.
        Some(bytes) => {
            let length = u32::try_from(bytes.len())
                .unwrap_or(ABSENT - 1)
                .min(ABSENT - 1);
            context.update(&length.to_be_bytes());
            context.update(bytes);
        }
        None => context.update(&ABSENT.to_be_bytes()),
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.try_get("seq").map_err(query_error)?,
        at: row.try_get("at").map_err(query_error)?,
        kind: row.try_get("kind").map_err(query_error)?,
        telematik_id: row.try_get("telematik_id").map_err(query_error)?,
        uvci: row.try_get("uvci").map_err(query_error)?,
        detail: row.try_get("detail").map_err(query_error)?,
        prev_hash: row.try_get("prev_hash").map_err(query_error)?,
        hash: row.try_get("hash").map_err(query_error)?,
    })
}

/// `prev_hash` of the first entry.
const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Separates these hashes from any other SHA-256 use and versions the encoding.
const DOMAIN_TAG: &str = "dcc-store/audit/v1";

/// Length value that marks an absent optional field.
const ABSENT: u32 = u32::MAX;

/// Rows per page in [`verify_chain`]; bounds memory for logs of any size.
const PAGE_SIZE: i64 = 500;

/// Up to `limit` entries after sequence number `after`, in order (for reports and tests).
pub async fn entries<'e, E>(
    executor: E,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows = sqlx::query(PAGE)
        .bind(after)
        .bind(limit)
        .fetch_all(executor)
        .await
        .map_err(crate::error::query_error)?;
    rows.iter().map(entry_from_row).collect()
}

const ADVANCE_HEAD: &str = "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash";

const SET_HEAD_HASH: &str = "UPDATE audit_head SET hash = $1 WHERE id = 1";

const READ_HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";

const INSERT_PREFIX: &str =
    "INSERT INTO audit_log (seq, at, kind, telematik_id, uvci, detail, prev_hash, hash) VALUES ";

/// Columns per `audit_log` row in [`INSERT_PREFIX`].
const INSERT_COLUMNS: usize = 8;

/// Most rows per multi-row insert (a power of two): 64 × 8 parameters stays far below either
/// backend's limit.
const INSERT_CHUNK: usize = 64;

const PAGE: &str = "SELECT seq, at, kind, telematik_id, uvci, detail, prev_hash, hash \
     FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_documented_encoding() {
        // Built by hand from the table in the module docs.
        let mut message = Vec::new();
        for field in [
            b"dcc-store/audit/v1".as_slice(),
            &7_i64.to_be_bytes(),
            &1_700_000_000_i64.to_be_bytes(),
            b"certificate.issued",
        ] {
            message.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
            message.extend_from_slice(field);
        }
        message.extend_from_slice(&u32::MAX.to_be_bytes()); // telematik_id absent
        for field in [
            b"URN:UVCI:01:DE:X".as_slice(),
            b"{}",
            GENESIS_HASH.as_bytes(),
        ] {
            message.extend_from_slice(&u32::try_from(field.len()).unwrap().to_be_bytes());
            message.extend_from_slice(field);
        }
        let expected = hex::encode(digest::digest(&digest::SHA256, &message));
        let actual = entry_hash(
            7,
            1_700_000_000,
            "certificate.issued",
            None,
            Some("URN:UVCI:01:DE:X"),
            "{}",
            GENESIS_HASH,
        );
        assert_eq!(actual, expected);
    }

    #[test]
    fn absent_and_empty_fields_hash_differently() {
        let absent = entry_hash(1, 0, "k", None, None, "{}", GENESIS_HASH);
        let empty = entry_hash(1, 0, "k", Some(""), None, "{}", GENESIS_HASH);
        assert_ne!(absent, empty);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let left = entry_hash(1, 0, "ab", Some("c"), None, "{}", GENESIS_HASH);
        let right = entry_hash(1, 0, "a", Some("bc"), None, "{}", GENESIS_HASH);
        assert_ne!(left, right);
    }
}
