//! `.show table T extents` and `.drop extents`, with the documented result columns and tag
//! filters (`has`/`!has` compare whole tags exactly, `contains`/`!contains` are
//! case-insensitive substring tests; an extent must satisfy every filter).

use serde_json::{Value, json};

use super::super::state::{Extent, Table};
use crate::kusto::command::{ExtentSelection, TagFilter, TagOp};
use crate::kusto::datetime::{format_datetime, parse_datetime};
use crate::kusto::v1::V1Table;
use crate::model::ColumnType::{DateTime, Guid, Long, Real, String as Str};

/// Whether `extent`'s tags satisfy every filter.
pub fn matches(extent: &Extent, filters: &[TagFilter]) -> bool {
    filters.iter().all(|f| {
        let needle = f.tag.to_lowercase();
        let has = || extent.tags.contains(&f.tag);
        let contains = || {
            extent
                .tags
                .iter()
                .any(|t| t.to_lowercase().contains(&needle))
        };
        match f.op {
            TagOp::Has => has(),
            TagOp::NotHas => !has(),
            TagOp::Contains => contains(),
            TagOp::NotContains => !contains(),
        }
    })
}

/// The extent's creation time as Kusto prints datetimes.
fn created(extent: &Extent) -> Value {
    parse_datetime(&extent.created_on).map_or(Value::Null, |t| json!(format_datetime(t)))
}

/// `.show table T extents [where tags ...]`.
pub fn show(database: &str, container: &str, table: &Table, filters: &[TagFilter]) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("ExtentId", Guid),
            ("DatabaseName", Str),
            ("TableName", Str),
            ("MaxCreatedOn", DateTime),
            ("OriginalSize", Real),
            ("ExtentSize", Real),
            ("CompressedSize", Real),
            ("IndexSize", Real),
            ("Blocks", Long),
            ("Segments", Long),
            ("ExtentContainerId", Str),
            ("RowCount", Long),
            ("MinCreatedOn", DateTime),
            ("Tags", Str),
            ("Kind", Str),
            ("DeletedRowCount", Long),
        ],
    );
    for e in table.extents.iter().filter(|e| matches(e, filters)) {
        let stored = serde_json::to_string(&e.rows).map_or(0, |s| s.len());
        t.push(vec![
            json!(e.id),
            json!(database),
            json!(table.name),
            created(e),
            json!(e.original_size as f64),
            json!(stored as f64),
            json!(stored as f64),
            json!(0.0),
            json!(1),
            json!(1),
            json!(container),
            json!(e.rows.len()),
            created(e),
            json!(e.tags.join("\r\n")),
            json!("StorageV3"),
            json!(0),
        ]);
    }
    t
}

/// `.drop extents ...`: removes the selected extents (unless `what_if`) and lists them.
pub fn drop(table: &mut Table, selection: &ExtentSelection, what_if: bool) -> V1Table {
    let selected = |e: &Extent| match selection {
        ExtentSelection::All => true,
        ExtentSelection::Ids(ids) => ids.iter().any(|id| id.eq_ignore_ascii_case(&e.id)),
        ExtentSelection::Tags(filters) => matches(e, filters),
    };
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("ExtentId", Str),
            ("TableName", Str),
            ("CreatedOn", DateTime),
        ],
    );
    for e in table.extents.iter().filter(|e| selected(e)) {
        t.push(vec![json!(e.id), json!(table.name), created(e)]);
    }
    if !what_if {
        table.extents.retain(|e| !selected(e));
    }
    t
}

/// `.delete table T records`: removes the rows `selected` marks (one list per extent, in
/// table order) unless `what_if`, and reports each extent that had matching rows. The
/// service replaces such extents with new ones; the sandbox keeps the extent id and drops
/// the rows (an extent left empty is removed). `RecordsMatchPredicate` is the documented
/// column; the others name the extent.
pub fn delete_rows(table: &mut Table, selected: &[Vec<bool>], what_if: bool) -> V1Table {
    let mut t = V1Table::new(
        "Table_0",
        &[
            ("TableName", Str),
            ("ExtentId", Str),
            ("RecordsMatchPredicate", Long),
        ],
    );
    for (extent, marks) in table.extents.iter_mut().zip(selected) {
        let matching = marks.iter().filter(|m| **m).count();
        if matching == 0 {
            continue;
        }
        t.push(vec![json!(table.name), json!(extent.id), json!(matching)]);
        if !what_if {
            let mut marks = marks.iter();
            extent
                .rows
                .retain(|_| !marks.next().copied().unwrap_or(false));
        }
    }
    if !what_if {
        table.extents.retain(|e| !e.rows.is_empty());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extent(id: &str, tags: &[&str]) -> Extent {
        Extent {
            id: id.into(),
            created_on: "2024-01-02T03:04:05.5000000Z".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            original_size: 10,
            columns: vec!["A".into()],
            rows: vec![vec![json!(1)], vec![json!(2)]],
        }
    }

    fn filter(op: TagOp, tag: &str) -> TagFilter {
        TagFilter {
            op,
            tag: tag.into(),
        }
    }

    #[test]
    fn tag_filters_follow_the_docs_example() {
        // Extent E tagged aaa, BBB, ccc (the `.show extents` docs example).
        let e = extent("e", &["aaa", "BBB", "ccc"]);
        assert!(matches(
            &e,
            &[filter(TagOp::Has, "aaa"), filter(TagOp::Contains, "bb")]
        ));
        assert!(!matches(
            &e,
            &[filter(TagOp::Has, "aa"), filter(TagOp::Contains, "bb")]
        ));
        assert!(matches(
            &e,
            &[
                filter(TagOp::Contains, "aaa"),
                filter(TagOp::Contains, "bb")
            ]
        ));
        assert!(matches(&e, &[filter(TagOp::NotHas, "BB")]));
        assert!(!matches(&e, &[filter(TagOp::NotContains, "b")]));
    }

    #[test]
    fn show_and_drop_by_tag() {
        let mut t = Table::new("T".into(), vec![]);
        t.extents = vec![extent("e1", &["drop-by:x"]), extent("e2", &[])];
        let shown = show("db", "c", &t, &[]);
        assert_eq!(shown.rows.len(), 2);
        assert_eq!(
            shown.column_values("MinCreatedOn").expect("column")[0],
            &json!("2024-01-02T03:04:05.5Z")
        );
        assert_eq!(
            shown.column_values("RowCount").expect("column")[0],
            &json!(2)
        );
        let by_tag = ExtentSelection::Tags(vec![filter(TagOp::Has, "drop-by:x")]);
        let preview = drop(&mut t, &by_tag, true);
        assert_eq!(preview.rows.len(), 1);
        assert_eq!(t.extents.len(), 2, "whatif drops nothing");
        let dropped = drop(&mut t, &by_tag, false);
        assert_eq!(
            dropped.column_values("ExtentId").expect("column"),
            [&json!("e1")]
        );
        assert_eq!(
            t.extents.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e2"]
        );
        drop(&mut t, &ExtentSelection::All, false);
        assert!(t.extents.is_empty());
    }
}
