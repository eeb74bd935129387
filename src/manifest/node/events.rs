//! Building located nodes straight from the YAML parser's events.
//!
//! One pass over the events, one node per event: no intermediate serde values and no second
//! tree. Anchored nodes are kept per document so an alias can be expanded into a copy of its
//! anchor (located where the alias is written); every copy is counted against a budget before
//! it is made, so an alias bomb is refused at the alias that would exceed it instead of after
//! seconds of copying.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use granit_parser::{ErrorKind, Event, Options, Parser, ScalarStyle, Span, Tag};

use super::{Loc, Node, Value, YamlError, scalar};

/// How much one file may build. Generous for real stacks, small enough that an adversarial file
/// is refused in milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Nodes per file, copies included (5 million is about 150,000 tables).
    pub max_nodes: usize,
    /// Nodes that aliases may copy per file: an alias copies its anchor's whole subtree, and
    /// aliases inside anchors multiply (the billion-laughs bomb). Anchors of defaults merged
    /// into hundreds of entries stay far below it.
    pub max_copied: usize,
    /// Nested sequences and mappings, aliases expanded; the typed deserializer and the schema
    /// check recurse this deep.
    pub max_depth: usize,
}

impl Limits {
    /// The limits every manifest is read with.
    pub const MANIFEST: Limits = Limits {
        max_nodes: 5_000_000,
        max_copied: 250_000,
        max_depth: 64,
    };
}

/// A node whose children are still being read.
struct Open {
    loc: Loc,
    /// The anchor to record when the node is complete (0: none).
    anchor: usize,
    /// Nodes in the subtree so far, the node itself included.
    size: usize,
    /// Container levels below this one so far.
    height: usize,
    body: Body,
}

/// Where an open node's children are so far: at the end of the builder's scratch lists, from
/// `start` on, until the node is complete and they move into a list of exactly their number.
enum Body {
    Seq {
        start: usize,
    },
    Map {
        start: usize,
        /// The key read, waiting for its value (`None` for a merge key, `<<`).
        key: Option<Option<Node>>,
        /// Values of `<<` keys, merged when the mapping ends.
        merges: Vec<Node>,
        /// The text of the scalar keys already used, once the mapping is large enough for
        /// comparing every key to be slow.
        index: Option<HashSet<String>>,
    },
}

/// A completed anchored node, with what copying it costs.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

/// Mappings with fewer keys are checked for duplicates by comparing keys one by one.
const INDEX_FROM: usize = 16;

/// The reader of one file's events.
pub(super) struct Builder<'t> {
    text: &'t str,
    file: u32,
    limits: Limits,
    /// Nodes built so far, copies included.
    nodes: usize,
    /// Nodes copied by aliases so far.
    pub(super) copied: usize,
    /// Anchored nodes of the current document by anchor id.
    anchors: HashMap<usize, Anchored>,
    open: Vec<Open>,
    /// The items of the open sequences, innermost last: one list reused for every sequence
    /// instead of a list per sequence grown item by item (a fifth of a table's nodes were
    /// spare capacity).
    items: Vec<Node>,
    /// The entries of the open mappings, innermost last (as `items`).
    entries: Vec<(Node, Node)>,
    root: Option<Node>,
    docs: Vec<Node>,
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str, file: u32, limits: Limits) -> Builder<'t> {
        Builder {
            text,
            file,
            limits,
            nodes: 0,
            copied: 0,
            anchors: HashMap::new(),
            open: Vec::new(),
            items: Vec::new(),
            entries: Vec::new(),
            root: None,
            docs: Vec::new(),
        }
    }

    /// Every non-empty document of the file, in order.
    pub(super) fn run(&mut self) -> Result<Vec<Node>, YamlError> {
        let mut options = Options::default();
        options.set_emit_comments(false);
        for next in Parser::new_from_str_with_options(self.text, options) {
            let (event, span) = next.map_err(|e| {
                let at = e.marker();
                let message = match e.kind() {
                    ErrorKind::UnknownAnchor => "alias references unknown anchor".to_string(),
                    _ => scan_message(&e.info()),
                };
                self.error_at(at.line(), at.col() + 1, message)
            })?;
            self.event(event, span)?;
        }
        Ok(std::mem::take(&mut self.docs))
    }

    fn event(&mut self, event: Event<'t>, span: Span) -> Result<(), YamlError> {
        let loc = self.loc(span);
        match event {
            Event::DocumentStart(..) => self.document_start(),
            Event::DocumentEnd => self.document_end(),
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag.as_deref(), loc)?;
            }
            Event::SequenceStart(_, anchor, _) => self.sequence_start(loc, anchor)?,
            Event::MappingStart(_, anchor, _) => self.mapping_start(loc, anchor)?,
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::Alias(id) => self.alias(id, loc, span)?,
            // Stream markers, and metadata the options leave off (comments, anchor names).
            _ => {}
        }
        Ok(())
    }

    /// A document begins: anchors of the previous one are forgotten.
    pub(super) fn document_start(&mut self) {
        self.anchors.clear();
        self.root = None;
    }

    /// A document ends: its root is kept unless the document is empty.
    pub(super) fn document_end(&mut self) {
        if let Some(root) = self.root.take().filter(|n| n.value != Value::Null) {
            self.docs.push(root);
        }
    }

    /// A scalar at `loc`, typed by its style and tag.
    pub(super) fn scalar(
        &mut self,
        text: Cow<'t, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        loc: Loc,
    ) -> Result<(), YamlError> {
        let merge = is_merge_key(&text, style, tag);
        let value =
            scalar::resolve(text, style, tag).map_err(|message| YamlError { loc, message })?;
        self.count(1, loc)?;
        self.complete(Node { loc, value }, anchor, 1, 0, merge)
    }

    /// A sequence begins at `loc`; its items follow until [`Builder::close`].
    pub(super) fn sequence_start(&mut self, loc: Loc, anchor: usize) -> Result<(), YamlError> {
        let start = self.items.len();
        self.open(loc, anchor, Body::Seq { start })
    }

    /// A mapping begins at `loc`; keys and values follow in turn until [`Builder::close`].
    pub(super) fn mapping_start(&mut self, loc: Loc, anchor: usize) -> Result<(), YamlError> {
        self.open(
            loc,
            anchor,
            Body::Map {
                start: self.entries.len(),
                key: None,
                merges: Vec::new(),
                index: None,
            },
        )
    }

    /// The location of 1-based `line` and 0-based character `column` in this file.
    pub(super) fn at(&self, line: usize, column: usize) -> Loc {
        Loc {
            file: self.file,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column.saturating_add(1)).unwrap_or(u32::MAX),
        }
    }

    /// The documents built so far.
    pub(super) fn into_documents(self) -> Vec<Node> {
        self.docs
    }

    fn loc(&self, span: Span) -> Loc {
        self.at(span.start.line(), span.start.col())
    }

    fn error_at(&self, line: usize, column: usize, message: String) -> YamlError {
        YamlError {
            loc: Loc {
                file: self.file,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            },
            message,
        }
    }

    fn count(&mut self, nodes: usize, loc: Loc) -> Result<(), YamlError> {
        self.nodes += nodes;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError {
                loc,
                message: format!(
                    "the file has more than {} YAML nodes; split it into several files",
                    self.limits.max_nodes
                ),
            });
        }
        Ok(())
    }

    fn too_deep(&self, loc: Loc) -> YamlError {
        YamlError {
            loc,
            message: format!(
                "nesting deeper than {} levels of lists and mappings",
                self.limits.max_depth
            ),
        }
    }

    fn open(&mut self, loc: Loc, anchor: usize, body: Body) -> Result<(), YamlError> {
        if self.open.len() + 1 > self.limits.max_depth {
            return Err(self.too_deep(loc));
        }
        self.count(1, loc)?;
        self.open.push(Open {
            loc,
            anchor,
            size: 1,
            height: 0,
            body,
        });
        Ok(())
    }

    /// The innermost open sequence or mapping is complete.
    pub(super) fn close(&mut self) -> Result<(), YamlError> {
        let Some(open) = self.open.pop() else {
            return Ok(());
        };
        let value = match open.body {
            Body::Seq { start } => Value::Seq(self.items.drain(start..).collect()),
            Body::Map {
                start,
                merges,
                index,
                ..
            } => {
                let mut entries: Vec<(Node, Node)> = self.entries.drain(start..).collect();
                if !merges.is_empty() {
                    merge(&mut entries, index, merges)?;
                }
                Value::Map(entries)
            }
        };
        let node = Node {
            loc: open.loc,
            value,
        };
        self.complete(node, open.anchor, open.size, open.height + 1, false)
    }

    fn alias(&mut self, id: usize, loc: Loc, span: Span) -> Result<(), YamlError> {
        let name = span.slice(self.text).unwrap_or("*");
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(YamlError {
                loc,
                message: format!("alias `{name}` refers to a node that contains it"),
            });
        };
        let (size, height) = (anchored.size, anchored.height);
        if self.copied + size > self.limits.max_copied {
            return Err(YamlError {
                loc,
                message: format!(
                    "alias `{name}` would expand the file past {} copied nodes (aliases inside anchors multiply: an alias bomb?)",
                    self.limits.max_copied
                ),
            });
        }
        if self.open.len() + height > self.limits.max_depth {
            return Err(self.too_deep(loc));
        }
        let copy = relocated(&anchored.node, loc);
        self.copied += size;
        self.count(size, loc)?;
        self.complete(copy, 0, size, height, false)
    }

    /// Attaches a finished node to its parent (or makes it the document's root), recording it
    /// first if it is anchored.
    fn complete(
        &mut self,
        node: Node,
        anchor: usize,
        size: usize,
        height: usize,
        merge_key: bool,
    ) -> Result<(), YamlError> {
        if anchor != 0 {
            let anchored = Anchored {
                node: node.clone(),
                size,
                height,
            };
            self.anchors.insert(anchor, anchored);
        }
        let Some(parent) = self.open.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        parent.size += size;
        parent.height = parent.height.max(height);
        match &mut parent.body {
            Body::Seq { .. } => self.items.push(node),
            Body::Map {
                start,
                key,
                merges,
                index,
            } => match key.take() {
                None if merge_key => *key = Some(None),
                None => {
                    if has_key(&self.entries[*start..], index, &node) {
                        return Err(YamlError {
                            loc: node.loc,
                            message: format!("duplicate key `{}`", node.key_text()),
                        });
                    }
                    *key = Some(Some(node));
                }
                Some(None) => merges.push(node),
                Some(Some(k)) => {
                    remember(index, &k);
                    self.entries.push((k, node));
                }
            },
        }
        Ok(())
    }
}

/// `<<` written plainly (or tagged `!!merge`) is a merge key; quoted, it is an ordinary key.
fn is_merge_key(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> bool {
    text == "<<"
        && match tag {
            None => style == ScalarStyle::Plain,
            Some(tag) => tag
                .suffix_in_namespace("tag:yaml.org,2002:")
                .is_some_and(|s| s == "merge"),
        }
}

/// Whether `key` is already a key of `entries`. Scalar keys are the same key when they read
/// the same (`1` and `"1"`, `true` and `"true"`): the schema check sees the document as JSON,
/// where they would silently become one. Large mappings build an index of their keys on first
/// need, so a mapping of thousands of keys is not checked pairwise.
fn has_key(entries: &[(Node, Node)], index: &mut Option<HashSet<String>>, key: &Node) -> bool {
    let Some(text) = scalar_text(key) else {
        return entries.iter().any(|(k, _)| same_key(k, key));
    };
    if index.is_none() && entries.len() >= INDEX_FROM {
        *index = Some(
            entries
                .iter()
                .filter_map(|(k, _)| scalar_text(k).map(Cow::into_owned))
                .collect(),
        );
    }
    match index {
        Some(index) => index.contains(text.as_ref()),
        None => entries
            .iter()
            .any(|(k, _)| scalar_text(k).is_some_and(|t| t == text)),
    }
}

/// Records a key in a mapping's index, if it has one.
fn remember(index: &mut Option<HashSet<String>>, key: &Node) {
    if let Some(index) = index
        && let Some(text) = scalar_text(key)
    {
        index.insert(text.into_owned());
    }
}

/// The text a scalar key has as a JSON key; `None` for a list or mapping used as a key.
fn scalar_text(node: &Node) -> Option<Cow<'_, str>> {
    match &node.value {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Seq(_) | Value::Map(_) => None,
        _ => Some(Cow::Owned(node.key_text())),
    }
}

/// Whether two list or mapping keys are the same key: equal nodes, positions aside.
fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_key(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same_key(ka, kb) && same_key(va, vb))
        }
        (Value::Seq(_) | Value::Map(_), _) | (_, Value::Seq(_) | Value::Map(_)) => false,
        _ => scalar_text(a) == scalar_text(b),
    }
}

/// Appends the entries of the merged mappings that the mapping does not set itself; of two
/// merged mappings, the first listed wins (YAML's merge-key rule).
fn merge(
    entries: &mut Vec<(Node, Node)>,
    mut index: Option<HashSet<String>>,
    merges: Vec<Node>,
) -> Result<(), YamlError> {
    let not_mergeable = |loc: Loc| YamlError {
        loc,
        message: "YAML merge value must be mapping or sequence of mappings".to_string(),
    };
    let mut sources = Vec::new();
    for value in merges {
        match value.value {
            Value::Null => {}
            Value::Map(merged) => sources.push(merged),
            Value::Seq(items) => {
                for item in items {
                    match item.value {
                        Value::Map(merged) => sources.push(merged),
                        _ => return Err(not_mergeable(item.loc)),
                    }
                }
            }
            _ => return Err(not_mergeable(value.loc)),
        }
    }
    for (k, v) in sources.into_iter().flatten() {
        if !has_key(entries, &mut index, &k) {
            remember(&mut index, &k);
            entries.push((k, v));
        }
    }
    Ok(())
}

/// A copy of `node` for an alias: every node of it is located at the alias, where the copy's
/// values are used.
fn relocated(node: &Node, loc: Loc) -> Node {
    let value = match &node.value {
        Value::Seq(items) => Value::Seq(items.iter().map(|n| relocated(n, loc)).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (relocated(k, loc), relocated(v, loc)))
                .collect(),
        ),
        scalar => scalar.clone(),
    };
    Node { loc, value }
}

/// The parser's message, without a trailing period or its own position.
fn scan_message(info: &str) -> String {
    let first = info.lines().next().unwrap_or("invalid YAML").trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    cut.trim_end_matches('.').to_string()
}
