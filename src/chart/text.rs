//! Labels in the chosen language.

use super::Lang;

/// Picks the English or Chinese wording of a label.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub lang: Lang,
}

impl Text {
    pub fn new(lang: Lang) -> Self {
        Text { lang }
    }

    pub fn pick(self, en: &'static str, zh: &'static str) -> &'static str {
        match self.lang {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    pub fn family(self) -> &'static str {
        super::style::family(self.lang)
    }
}
