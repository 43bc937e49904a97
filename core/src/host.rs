//! The host tables the helpers read when they run (SPEC §2): which columns, of which type. A
//! helper checks its table against this before its query (syscache lookups, `src/ffi.rs`), so that
//! a missing or incompatible table answers PT501 naming it — without an exception block, which
//! would open a subtransaction on every call (SPEC §7, the recorders' success path).

/// One host table the extension reads at run time: its name in `public` and the columns it reads,
/// with their types (`format_type` spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTable {
    pub name: &'static str,
    pub columns: &'static [(&'static str, &'static str)],
}

/// Every host table a helper reads (is_admin, member_orgs, host_row_exists, the page's name).
pub const HOST_TABLES: [HostTable; 4] = [
    HostTable {
        name: "app_admins",
        columns: &[("user_id", "uuid")],
    },
    HostTable {
        name: "organization_members",
        columns: &[
            ("organization_id", "uuid"),
            ("user_id", "uuid"),
            ("role", "text"),
        ],
    },
    HostTable {
        name: "services",
        columns: &[("id", "text")],
    },
    HostTable {
        name: "organizations",
        columns: &[("id", "uuid")],
    },
];

/// The host table of that name, if the extension reads one.
pub fn table(name: &str) -> Option<&'static HostTable> {
    HOST_TABLES.iter().find(|t| t.name == name)
}

/// What the catalogs say of an expected column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// No such column (or a dropped one).
    Missing,
    /// There, of the expected type.
    Expected,
    /// There, of another type (its `format_type` spelling).
    Other(String),
}

/// What is wrong with a host table, from what the catalogs say: `exists` (the relation is there),
/// then `column(name, expected type)` for each expected column. None when all is well.
pub fn problem(
    table: &HostTable,
    exists: bool,
    mut column: impl FnMut(&str, &str) -> Column,
) -> Option<String> {
    if !exists {
        return Some(format!("relation \"public.{}\" does not exist", table.name));
    }
    for (name, expected) in table.columns {
        match column(name, expected) {
            Column::Missing => {
                return Some(format!(
                    "column public.{}.{name} does not exist",
                    table.name
                ))
            }
            Column::Other(actual) => {
                return Some(format!(
                    "public.{}.{name} is {actual}, expected {expected}",
                    table.name
                ))
            }
            Column::Expected => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing_or_wrong() {
        let members = table("organization_members").unwrap();
        assert_eq!(
            problem(members, false, |_, _| Column::Missing).unwrap(),
            "relation \"public.organization_members\" does not exist"
        );
        assert_eq!(
            problem(members, true, |c, _| if c == "role" {
                Column::Missing
            } else {
                Column::Expected
            })
            .unwrap(),
            "column public.organization_members.role does not exist"
        );
        let services = table("services").unwrap();
        assert_eq!(
            problem(services, true, |_, _| Column::Other("integer".into())).unwrap(),
            "public.services.id is integer, expected text"
        );
        assert_eq!(problem(services, true, |_, _| Column::Expected), None);
        assert!(table("auth.users").is_none());
    }

    #[test]
    fn every_expected_type_is_one_the_extension_compares_by_oid() {
        // src/ffi.rs (host_storage_problem) maps these names to their oids.
        for t in HOST_TABLES {
            for (_, ty) in t.columns {
                assert!(["uuid", "text"].contains(ty), "{}: {ty}", t.name);
            }
        }
    }
}
