//! Multi-row statements for group commit: one `INSERT … VALUES (…), (…), …` instead of one
//! statement per row. Both backends take `$n` placeholders through the `Any` driver.

use std::fmt::Write as _;

use sqlx::AssertSqlSafe;

/// `prefix` followed by `rows` tuples of `columns` numbered placeholders, then `suffix`:
/// `multi_row_insert("INSERT INTO t (a, b) VALUES ", 2, 2, "")` is
/// `INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`.
///
/// The text is built from the caller's constant SQL and placeholders only, never from values,
/// which is why it may be asserted safe.
pub(crate) fn multi_row_insert(
    prefix: &'static str,
    columns: usize,
    rows: usize,
    suffix: &'static str,
) -> AssertSqlSafe<String> {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    let mut placeholder = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            placeholder += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            // Writing to a String cannot fail.
            let _ = write!(sql, "${placeholder}");
        }
        sql.push(')');
    }
    sql.push_str(suffix);
    AssertSqlSafe(sql)
}

/// `prefix ($first, $first+1, …) suffix`: an `IN (…)` list of `count` numbered placeholders,
/// built from constant SQL and placeholders only.
pub(crate) fn in_list(
    prefix: &'static str,
    first: usize,
    count: usize,
    suffix: &'static str,
) -> AssertSqlSafe<String> {
    let mut sql = String::with_capacity(prefix.len() + count * 5 + suffix.len() + 2);
    sql.push_str(prefix);
    sql.push('(');
    for index in 0..count {
        if index > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "${}", first + index);
    }
    sql.push(')');
    sql.push_str(suffix);
    AssertSqlSafe(sql)
}

/// Splits `items` into chunks whose lengths are powers of two, none longer than `max`, largest
/// first. Prepared statements are cached per SQL text, so batches of any size then reuse a few
/// multi-row statements (one per power of two) instead of preparing a new one for every size.
pub(crate) fn statement_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let fits = rest.len().min(max.max(1));
        // The largest power of two not above `fits`.
        let size = 1_usize << (usize::BITS - 1 - fits.leading_zeros());
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

/// How many placeholders an `IN (…)` list of `count` values gets: the next power of two, so
/// that the statement text repeats (the caller binds its last value into the spare places;
/// repeated values do not change an `IN` list's meaning).
pub(crate) fn padded_len(count: usize) -> usize {
    count.next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_row_by_row() {
        assert_eq!(
            multi_row_insert("INSERT INTO t (a, b) VALUES ", 2, 3, " RETURNING a").0,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4), ($5, $6) RETURNING a"
        );
        assert_eq!(multi_row_insert("X ", 1, 1, "").0, "X ($1)");
    }

    #[test]
    fn chunks_are_powers_of_two_largest_first() {
        let items: Vec<u32> = (0..100).collect();
        let sizes: Vec<usize> = statement_chunks(&items, 64)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [64, 32, 4]);
        let sizes: Vec<usize> = statement_chunks(&items, 16)
            .iter()
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [16, 16, 16, 16, 16, 16, 4]);
        let flat: Vec<u32> = statement_chunks(&items, 64).concat();
        assert_eq!(flat, items);
        assert!(statement_chunks::<u32>(&[], 64).is_empty());
        assert_eq!(padded_len(1), 1);
        assert_eq!(padded_len(3), 4);
        assert_eq!(padded_len(64), 64);
    }

    #[test]
    fn in_list_starts_where_asked() {
        assert_eq!(in_list("a IN ", 1, 3, "").0, "a IN ($1, $2, $3)");
        assert_eq!(in_list("", 4, 1, " x").0, "($4) x");
    }
}
