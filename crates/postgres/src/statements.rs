//! The SQL text of a store: the schema for a [`TableName`] and the
//! statements on its tables.

use crate::TableName;

/// The schema, idempotent: the table, its indexes, the migration of a
/// table made by websession-postgres 0.1, and the revocation tables.
/// For the default name it is [`SCHEMA`](crate::SCHEMA) with the names
/// quoted.
pub(crate) fn schema_sql(table: &TableName) -> String {
    let t = table.to_string();
    let (g, d) = (table.sibling("generations"), table.sibling("denied"));
    let n = &table.name;
    let s = table
        .schema
        .as_ref()
        .map_or(String::new(), |s| format!("\"{s}\"."));
    format!(
        "
SELECT pg_advisory_xact_lock(7305463015744167236);
CREATE TABLE IF NOT EXISTS {t} (
    id             BYTEA PRIMARY KEY,
    data           JSONB NOT NULL DEFAULT '{{}}'::jsonb,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    user_id        TEXT,
    expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED
) WITH (fillfactor = 70);
DO $$
DECLARE
    t regclass := '{t}'::regclass;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class
                   WHERE oid = t AND 'fillfactor=70' = ANY (coalesce(reloptions, '{{}}'))) THEN
        ALTER TABLE {t} SET (fillfactor = 70);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = t AND attname = 'expires_bucket' AND NOT attisdropped) THEN
        ALTER TABLE {t}
            ADD COLUMN expires_bucket BIGINT GENERATED ALWAYS AS (expires_at / 3600) STORED;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = t AND i.relname = '{n}_expires_idx') THEN
        DROP INDEX {s}\"{n}_expires_idx\";
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = t AND i.relname = '{n}_bucket_idx') THEN
        CREATE INDEX \"{n}_bucket_idx\" ON {t} (expires_bucket);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   WHERE x.indrelid = t AND i.relname = '{n}_user_idx') THEN
        CREATE INDEX \"{n}_user_idx\" ON {t} (user_id)
            WHERE user_id IS NOT NULL;
    END IF;
END $$;
CREATE TABLE IF NOT EXISTS {g} (
    user_id    TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS {d} (
    id    BYTEA PRIMARY KEY,
    until BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS \"{n}_denied_idx\" ON {d} (until);
"
    )
}

/// The SET list that applies a `ChangeSet`, shared by `update` and
/// `cycle_id`. Parameters as bound by `change_params`: `$2` the data
/// changes, `$3` cleared, `$4` removed keys, `$5`/`$6` the keys and value
/// texts set, `$7` the expiry, `$8`/`$9` the user change; `$1` and `$10`
/// (id and now) belong to the WHERE clause. An unchanged user id and
/// expiry bucket keep the update in place (HOT).
const APPLY_CHANGES: &str =
    "data = CASE WHEN $2 THEN ((CASE WHEN $3 THEN '{}'::jsonb ELSE data END) - $4::text[])
                          || jsonb_object($5::text[], $6::text[])
                 ELSE data END,
     expires_at = $7,
     user_id = CASE WHEN $8 THEN $9 ELSE user_id END";

/// The statements of one table, prepared on every connection.
#[derive(Debug)]
pub(crate) struct Statements {
    /// A live session: its times, user, and the keys and value texts of
    /// its data as two arrays (NULL when the data is empty).
    pub(crate) load: String,
    /// Inserts a session, replacing an expired row with the same id and
    /// refusing a live one (no row affected).
    pub(crate) create: String,
    pub(crate) update: String,
    pub(crate) cycle: String,
    pub(crate) delete_if_expired: String,
    pub(crate) delete: String,
    pub(crate) delete_user: String,
    /// Deletes the live sessions (as of `$3`) of the user `$1` but `$2`
    /// (not prepared: it runs rarely).
    pub(crate) delete_others: String,
    pub(crate) delete_expired: String,
    /// A user's live sessions, as `load` reads each, with their ids (not
    /// prepared: it runs rarely).
    pub(crate) sessions_of: String,
    /// The generation of the user `$1` (0: none asked, or never bumped)
    /// and whether the id `$2` is denied at `$3`, in one row.
    pub(crate) check: String,
    /// The generation of the user `$1` (0: never bumped).
    pub(crate) generation: String,
    /// Adds one to the generation of `$1` (from 0), returning the new one.
    pub(crate) bump: String,
    /// Denies the id `$1` until `$2`, keeping a later time already there.
    pub(crate) deny: String,
    pub(crate) delete_expired_denials: String,
}

impl Statements {
    pub(crate) fn new(table: &TableName) -> Self {
        let t = table.to_string();
        let (g, d) = (table.sibling("generations"), table.sibling("denied"));
        Self {
            load: format!(
                "
SELECT s.created_at, s.expires_at, s.user_id, d.keys, d.vals
FROM {t} s
CROSS JOIN LATERAL (SELECT array_agg(e.key) AS keys, array_agg(e.value) AS vals
                    FROM jsonb_each_text(s.data) e) d
WHERE s.id = $1 AND s.expires_at > $2"
            ),
            create: format!(
                "
INSERT INTO {t} AS s (id, data, created_at, expires_at, user_id)
VALUES ($1, jsonb_object($2::text[], $3::text[]), $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, created_at = EXCLUDED.created_at,
    expires_at = EXCLUDED.expires_at, user_id = EXCLUDED.user_id
WHERE s.expires_at <= $7"
            ),
            update: format!(
                "UPDATE {t} SET {APPLY_CHANGES} WHERE id = $1 AND expires_at > $10"
            ),
            cycle: format!(
                "UPDATE {t} SET id = $11, {APPLY_CHANGES} WHERE id = $1 AND expires_at > $10"
            ),
            delete_if_expired: format!("DELETE FROM {t} WHERE id = $1 AND expires_at <= $2"),
            delete: format!("DELETE FROM {t} WHERE id = $1"),
            delete_user: format!("DELETE FROM {t} WHERE user_id = $1"),
            delete_others: format!(
                "DELETE FROM {t} WHERE user_id = $1 AND id <> $2 AND expires_at > $3"
            ),
            delete_expired: format!(
                "DELETE FROM {t} WHERE expires_bucket <= $1::bigint / 3600 AND expires_at <= $1::bigint"
            ),
            sessions_of: format!(
                "
SELECT s.created_at, s.expires_at, s.user_id, d.keys, d.vals, s.id
FROM {t} s
CROSS JOIN LATERAL (SELECT array_agg(e.key) AS keys, array_agg(e.value) AS vals
                    FROM jsonb_each_text(s.data) e) d
WHERE s.user_id = $1 AND s.expires_at > $2"
            ),
            check: format!(
                "SELECT coalesce((SELECT generation FROM {g} WHERE user_id = $1), 0),
        EXISTS (SELECT 1 FROM {d} WHERE id = $2 AND until > $3)"
            ),
            generation: format!(
                "SELECT coalesce((SELECT generation FROM {g} WHERE user_id = $1), 0)"
            ),
            bump: format!(
                "
INSERT INTO {g} AS g (user_id, generation) VALUES ($1, 1)
ON CONFLICT (user_id) DO UPDATE SET generation = g.generation + 1
RETURNING generation"
            ),
            deny: format!(
                "
INSERT INTO {d} AS d (id, until) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET until = EXCLUDED.until WHERE d.until < EXCLUDED.until"
            ),
            delete_expired_denials: format!("DELETE FROM {d} WHERE until <= $1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_table_migrates_with_the_published_schema() {
        assert_eq!(
            schema_sql(&TableName::default()).replace('"', ""),
            crate::SCHEMA
        );
    }

    #[test]
    fn every_name_is_the_table_quoted() {
        let t = TableName::new("Web_Sessions2")
            .and_then(|t| t.in_schema("_auth"))
            .expect("valid");
        let sql = schema_sql(&t);
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"_auth\".\"Web_Sessions2\" ("));
        assert!(sql.contains("DROP INDEX \"_auth\".\"Web_Sessions2_expires_idx\";"));
        assert!(sql
            .contains("CREATE INDEX \"Web_Sessions2_bucket_idx\" ON \"_auth\".\"Web_Sessions2\""));
        assert!(
            sql.contains("CREATE TABLE IF NOT EXISTS \"_auth\".\"Web_Sessions2_generations\" (")
        );
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"_auth\".\"Web_Sessions2_denied\" ("));
        assert!(sql.contains(
            "CREATE INDEX IF NOT EXISTS \"Web_Sessions2_denied_idx\" ON \"_auth\".\"Web_Sessions2_denied\""
        ));
        let statements = Statements::new(&t);
        assert!(statements
            .load
            .contains("FROM \"_auth\".\"Web_Sessions2\" s"));
        assert!(statements
            .check
            .contains("FROM \"_auth\".\"Web_Sessions2_generations\" WHERE"));
        for sql in [
            &statements.check,
            &statements.deny,
            &statements.delete_expired_denials,
        ] {
            assert!(sql.contains("\"_auth\".\"Web_Sessions2_denied\""), "{sql}");
        }
        assert!(statements
            .delete_others
            .starts_with("DELETE FROM \"_auth\".\"Web_Sessions2\" WHERE"));
        for sql in [&statements.generation, &statements.bump] {
            assert!(
                sql.contains("\"_auth\".\"Web_Sessions2_generations\""),
                "{sql}"
            );
        }
    }
}
