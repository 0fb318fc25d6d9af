//! The report's tables as plain values — headings and cells — built once from the
//! model and laid out by both templates: the `table` macro of `table.html` and the
//! one of `table.md` draw the same [`Table`], so the two files cannot disagree on a
//! column or a number format.

use serde::Serialize;

use super::model::{Anomaly, Connection, Report, UdpRow};
use super::text::{self, text};
use crate::chart::Lang;
use crate::chat::message::DataForm;

/// A table: headings, then rows of cells.
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    /// The HTML `class` of the table, if any.
    pub class: Option<&'static str>,
    pub head: Vec<Head>,
    pub rows: Vec<Row>,
}

/// One column heading.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    pub text: String,
    /// Numbers are right-aligned (Markdown's `---:`).
    pub right: bool,
}

/// One row; a `bad` row is shaded in HTML (a disagreement, a failed level).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub bad: bool,
    pub cells: Vec<Cell>,
}

/// One cell: text, or a link. A cell with a `code` word (a message's type) shows,
/// in HTML, the word set as code and then `detail`; Markdown shows `text` as it is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell {
            text,
            ..Cell::default()
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_string())
    }
}

impl Row {
    /// A plain row of text cells.
    pub fn of<C: Into<Cell>>(cells: impl IntoIterator<Item = C>) -> Self {
        Row {
            bad: false,
            cells: cells.into_iter().map(Into::into).collect(),
        }
    }
}

/// Headings from `(text, right-aligned)` pairs.
pub fn heads(cols: &[(&str, bool)]) -> Vec<Head> {
    cols.iter()
        .map(|&(text, right)| Head {
            text: text.to_string(),
            right,
        })
        .collect()
}

/// Milliseconds with three decimals, from nanoseconds.
fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

/// A connection's application messages (the chat's): who sent what, when.
pub fn messages(c: &Connection, lang: Lang) -> Table {
    let t = text(lang);
    let rows = c
        .messages
        .iter()
        .map(|m| {
            let arrow = if m.sender == "client" { "→" } else { "←" };
            let rest = m
                .summary
                .strip_prefix(m.kind.as_str())
                .unwrap_or(&m.summary);
            let message = Cell {
                text: m.summary.clone(),
                code: Some(m.kind.clone()),
                detail: Some(rest.trim().to_string()),
                href: None,
            };
            Row {
                bad: false,
                cells: vec![
                    m.frame.to_string().into(),
                    ms(m.t.0).into(),
                    format!("{} {arrow}", text::role(m.sender, lang)).into(),
                    message,
                    match m.data_form {
                        Some(DataForm::String) => t.data_string,
                        Some(DataForm::Object) => t.data_object,
                        None => "",
                    }
                    .into(),
                ],
            }
        })
        .collect();
    Table {
        class: None,
        head: heads(&[
            (t.frame, true),
            (t.time_ms, true),
            (t.endpoint, false),
            (t.message, false),
            (t.data_form, false),
        ]),
        rows,
    }
}

/// A connection's state transitions, both endpoints, in frame order.
pub fn transitions(c: &Connection, lang: Lang) -> Table {
    let t = text(lang);
    let rows = c
        .transitions
        .iter()
        .map(|r| {
            Row::of([
                r.frame.to_string(),
                ms(r.t.0),
                text::role(r.endpoint, lang).to_string(),
                r.from.to_string(),
                r.to.to_string(),
                r.why.clone(),
            ])
        })
        .collect();
    Table {
        class: Some("transitions"),
        head: heads(&[
            (t.frame, true),
            (t.time_ms, true),
            (t.endpoint, false),
            (t.from, false),
            (t.to, false),
            (t.why, false),
        ]),
        rows,
    }
}

/// The frames with expert flags or decoding errors.
pub fn anomalies(anomalies: &[Anomaly], lang: Lang) -> Table {
    let t = text(lang);
    let rows = anomalies
        .iter()
        .map(|a| {
            Row::of([
                a.frame.to_string(),
                a.flow.map(|f| f.to_string()).unwrap_or_default(),
                a.sender
                    .map(|s| text::role(s, lang))
                    .unwrap_or("")
                    .to_string(),
                a.text.clone(),
            ])
        })
        .collect();
    Table {
        class: None,
        head: heads(&[
            (t.frame, true),
            (t.connection, true),
            (t.endpoint, false),
            (t.meaning, false),
        ]),
        rows,
    }
}

/// Per endpoint of each compared connection, a heading and its inferred states
/// beside the kernel's; disagreeing rows are `bad`.
pub fn kernel(r: &Report, lang: Lang) -> Vec<(String, Table)> {
    let t = text(lang);
    let Some(k) = &r.kernel else {
        return Vec::new();
    };
    let endpoints = k
        .connections
        .iter()
        .flat_map(|c| [(c.flow, &c.client), (c.flow, &c.server)]);
    endpoints
        .map(|(flow, e)| {
            let heading = format!(
                "{} {flow} — {} {}",
                t.connection,
                text::role(e.endpoint, lang),
                e.local
            );
            let rows = e
                .rows
                .iter()
                .map(|row| Row {
                    bad: !row.agree,
                    ..Row::of([
                        row.frame.map(|f| f.to_string()).unwrap_or_default(),
                        row.inferred.map(|s| s.name()).unwrap_or("—").to_string(),
                        row.kernel.map(|s| s.name()).unwrap_or("—").to_string(),
                        row.offset_us.map(|o| o.to_string()).unwrap_or_default(),
                        (if row.kernel_only {
                            t.kernel_only
                        } else if row.agree {
                            t.yes
                        } else {
                            t.no
                        })
                        .to_string(),
                    ])
                })
                .collect();
            let head = heads(&[
                (t.frame, true),
                (t.inferred, false),
                (t.kernel_state, false),
                (t.offset_us, true),
                (t.agree, false),
            ]);
            let table = Table {
                class: None,
                head,
                rows,
            };
            (heading, table)
        })
        .collect()
}

/// The UDP streams' numbers.
pub fn udp(udp: &[UdpRow], lang: Lang) -> Table {
    let t = text(lang);
    let rows = udp
        .iter()
        .map(|u| {
            Row::of([
                u.flow.to_string(),
                u.client.to_string(),
                u.server.to_string(),
                format!("{} / {}", u.datagrams.client, u.datagrams.server),
                u.answered.to_string(),
            ])
        })
        .collect();
    Table {
        class: None,
        head: heads(&[
            (t.udp_stream, true),
            (t.client, false),
            (t.server, false),
            (t.datagrams, false),
            (t.answered, true),
        ]),
        rows,
    }
}
