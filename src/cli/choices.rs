//! The command line's names for the core's choices (chart kind, language).
//!
//! The core enums know nothing of clap; these mirror them for parsing, help and
//! shell completion, and convert on the way in.

use clap::builder::{EnumValueParser, TypedValueParser};
use clap::ValueEnum;

use crate::chart::{ChartKind, Lang};

/// Which picture to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Sequence (ladder) diagram: one arrow per segment between two lifelines.
    Ladder,
    /// Both endpoints' states as coloured bands over time.
    States,
    /// Stevens / tcptrace sequence-number graph of one direction.
    Seq,
    /// Bytes per interval, both directions.
    Throughput,
    /// Data → ACK round-trip samples.
    Rtt,
    /// Encapsulation of one frame: nested headers and a coloured hex dump.
    Layers,
}

impl From<KindArg> for ChartKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Ladder => ChartKind::Ladder,
            KindArg::States => ChartKind::States,
            KindArg::Seq => ChartKind::Seq,
            KindArg::Throughput => ChartKind::Throughput,
            KindArg::Rtt => ChartKind::Rtt,
            KindArg::Layers => ChartKind::Layers,
        }
    }
}

/// Language of the labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

/// Parses `--kind` straight into a [`ChartKind`] (help lists [`KindArg`]'s values).
pub fn kind_parser() -> impl TypedValueParser<Value = ChartKind> {
    EnumValueParser::<KindArg>::new().map(ChartKind::from)
}

/// Parses `--lang` straight into a [`Lang`] (help lists [`LangArg`]'s values).
pub fn lang_parser() -> impl TypedValueParser<Value = Lang> {
    EnumValueParser::<LangArg>::new().map(Lang::from)
}
