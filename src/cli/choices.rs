//! The command line's names for the core's choices (chart kind, language).
//!
//! The core enums know nothing of clap; their own tables (`ALL`, `name`, `about`,
//! `code`) give the values clap offers in help and shell completion, so a new
//! chart kind or language is added in one place.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::chart::{ChartKind, Lang};

/// Parses `--kind` straight into a [`ChartKind`]; help lists every kind with its `about`.
pub fn kind_parser() -> impl TypedValueParser<Value = ChartKind> {
    let values = ChartKind::ALL.map(|k| PossibleValue::new(k.name()).help(k.about()));
    PossibleValuesParser::new(values).map(|name| {
        ChartKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .expect("clap accepts only the listed names")
    })
}

/// Parses `--lang` straight into a [`Lang`].
pub fn lang_parser() -> impl TypedValueParser<Value = Lang> {
    PossibleValuesParser::new(Lang::ALL.map(|l| PossibleValue::new(l.code()))).map(|code| {
        Lang::ALL
            .into_iter()
            .find(|l| l.code() == code)
            .expect("clap accepts only the listed codes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[arg(long, value_parser = kind_parser())]
        kind: ChartKind,
        #[arg(long, value_parser = lang_parser(), default_value = "en")]
        lang: Lang,
    }

    #[test]
    fn every_kind_and_language_parses_by_its_name() {
        for k in ChartKind::ALL {
            for l in Lang::ALL {
                let a = Args::parse_from(["t", "--kind", k.name(), "--lang", l.code()]);
                assert_eq!((a.kind, a.lang), (k, l));
            }
        }
        assert!(Args::try_parse_from(["t", "--kind", "pie"]).is_err());
    }
}
