//! Standardised names (`fnt`/`gnt`) following the ICAO Doc 9303 Part 3 transliteration
//! (dcc-spec.md §2.8).
//!
//! The output alphabet is `A`–`Z` plus the filler `<`, with at most 80 characters. Digits are not
//! part of it, unlike in a passport's machine-readable zone, because the payload schema's pattern
//! forbids them. Verifiers must not re-derive a transliteration and compare it with the one in a
//! certificate; this function is meant for issuers filling in `fnt`/`gnt`.

use unicode_normalization::UnicodeNormalization;

/// Transliterates a name into its standardised form (`fnt`/`gnt`, dcc-spec.md §2.8).
///
/// The rules, in order of precedence:
/// - The input is composed to NFC first, so a base letter followed by a combining mark is
///   treated the same as the precomposed letter (`A` + U+0308 becomes `Ä` and then `AE`).
/// - Letters with an explicit ICAO mapping use it: `Ä`→`AE`, `Ö`→`OE`, `Ü`→`UE`, `ß`→`SS`,
///   `Å`→`AA`, `Æ`→`AE`, `Œ`→`OE`, `Ø`→`OE`, `Ð`→`D`, `Þ`→`TH`, `Ĳ`→`IJ`, `Ł`→`L`, and the
///   Cyrillic, Greek and Georgian tables.
/// - Any other letter is decomposed (NFKD) and loses its diacritics (`Č`→`C`, `ά`→`A`).
/// - Apostrophes (`'` `’` `‘` `` ` `` `´` `ʼ`) and the Catalan middle dot (`·`) are removed.
/// - Spaces, hyphens and other punctuation become `<`; a run of them collapses into one `<`,
///   and separators at the start or end are dropped.
/// - Digits and anything else without a mapping are dropped.
/// - The result is cut to 80 characters, and a `<` left at the end by the cut is dropped.
///
/// The function is idempotent: transliterating its own output returns the output unchanged.
pub fn transliterate(name: &str) -> String {
    let mut output = Standardised::default();
    for character in name.nfc() {
        for upper in character.to_uppercase() {
            output.push(upper);
        }
        // Everything past the limit would be cut off anyway, so long inputs stop early.
        if output.is_full() {
            break;
        }
    }
    output.finish()
}

/// The standardised name being built, with a separator that is only written once a letter
/// follows it, which both collapses runs and trims separators at either end.
#[derive(Default)]
struct Standardised {
    text: String,
    separator_pending: bool,
}

impl Standardised {
    /// Adds one uppercased input character.
    fn push(&mut self, character: char) {
        match classify(character) {
            Class::Letters(letters) => self.push_letters(letters),
            Class::Separator => self.separator_pending = true,
            Class::Removed => {}
            Class::Unmapped => {
                // Letters with diacritics that are not in a table lose the diacritic; the
                // compatibility decomposition also folds full-width forms and ligatures (§2.8).
                for decomposed in std::iter::once(character).nfkd() {
                    for upper in decomposed.to_uppercase() {
                        match classify(upper) {
                            Class::Letters(letters) => self.push_letters(letters),
                            Class::Separator => self.separator_pending = true,
                            Class::Removed | Class::Unmapped => {}
                        }
                    }
                }
            }
        }
    }

    fn push_letters(&mut self, letters: &str) {
        if self.separator_pending && !self.text.is_empty() {
            self.text.push(FILLER);
        }
        self.separator_pending = false;
        self.text.push_str(letters);
    }

    fn is_full(&self) -> bool {
        self.text.len() > MAX_LENGTH
    }

    fn finish(mut self) -> String {
        // The text is ASCII, so every byte index is a character boundary.
        self.text.truncate(MAX_LENGTH);
        while self.text.ends_with(FILLER) {
            self.text.pop();
        }
        self.text
    }
}

/// What an uppercased character contributes to the standardised name.
enum Class {
    /// The character becomes these letters (`A`–`Z` only).
    Letters(&'static str),
    /// The character separates name parts and becomes `<`.
    Separator,
    /// The character is removed without separating anything (apostrophes).
    Removed,
    /// The character has no direct mapping; its decomposition may still have one.
    Unmapped,
}

fn classify(character: char) -> Class {
    if let Some(letters) = letters(character) {
        return Class::Letters(letters);
    }
    if is_removed(character) {
        return Class::Removed;
    }
    if is_separator(character) {
        return Class::Separator;
    }
    Class::Unmapped
}

fn letters(character: char) -> Option<&'static str> {
    ascii_letter(character)
        .or_else(|| latin_letter(character))
        .or_else(|| cyrillic_letter(character))
        .or_else(|| greek_letter(character))
        .or_else(|| georgian_letter(character))
}

fn ascii_letter(character: char) -> Option<&'static str> {
    if !character.is_ascii_uppercase() {
        return None;
    }
    let index = usize::from(u8::try_from(character).ok()? - b'A');
    ASCII_UPPERCASE.get(index..=index)
}

/// Latin letters that ICAO maps to something other than their base letter, or that do not
/// decompose under NFKD at all (`Ł`, `Ø`, `Đ`, `Ħ`), so stripping diacritics would lose them.
fn latin_letter(character: char) -> Option<&'static str> {
    let letters = match character {
        'Ä' | 'Æ' => "AE",
        'Ö' | 'Œ' | 'Ø' => "OE",
        'Ü' => "UE",
        'Å' => "AA",
        // `ß` uppercases to `SS` on its own; the capital sharp s does not.
        'ẞ' => "SS",
        'Ð' | 'Đ' => "D",
        'Þ' => "TH",
        'Ĳ' => "IJ",
        'Ł' => "L",
        'Ħ' => "H",
        'Ŧ' => "T",
        'Ŋ' => "N",
        _ => return None,
    };
    Some(letters)
}

/// The ICAO 9303 Cyrillic table, including the letters it gives for Ukrainian, Belarusian,
/// Serbian and Macedonian (§2.8). The soft sign `Ь` has no value and is dropped.
fn cyrillic_letter(character: char) -> Option<&'static str> {
    let letters = match character {
        'А' => "A",
        'Б' => "B",
        'В' => "V",
        'Г' | 'Ґ' | 'Ѓ' => "G",
        'Д' | 'Ђ' => "D",
        'Е' | 'Ё' | 'Э' => "E",
        'Є' | 'Ъ' => "IE",
        'Ж' => "ZH",
        'З' => "Z",
        'Ѕ' | 'Џ' => "DZ",
        'И' | 'І' | 'Ї' | 'Й' => "I",
        'Ј' => "J",
        'К' | 'Ќ' => "K",
        'Л' => "L",
        'Љ' => "LJ",
        'М' => "M",
        'Н' => "N",
        'Њ' => "NJ",
        'О' => "O",
        'П' => "P",
        'Р' => "R",
        'С' => "S",
        'Т' => "T",
        'Ћ' => "C",
        'У' | 'Ў' => "U",
        'Ф' => "F",
        'Х' => "KH",
        'Ц' => "TS",
        'Ч' => "CH",
        'Ш' => "SH",
        'Щ' => "SHCH",
        'Ы' => "Y",
        'Ю' => "IU",
        'Я' => "IA",
        _ => return None,
    };
    Some(letters)
}

/// The ICAO 9303 Greek table. Accented letters are not listed: they decompose to these base
/// letters. The final sigma `ς` uppercases to `Σ` before it gets here.
fn greek_letter(character: char) -> Option<&'static str> {
    let letters = match character {
        'Α' => "A",
        'Β' => "V",
        'Γ' => "G",
        'Δ' => "D",
        'Ε' => "E",
        'Ζ' => "Z",
        'Η' | 'Ι' => "I",
        'Θ' => "TH",
        'Κ' => "K",
        'Λ' => "L",
        'Μ' => "M",
        'Ν' => "N",
        'Ξ' => "X",
        'Ο' | 'Ω' => "O",
        'Π' => "P",
        'Ρ' => "R",
        'Σ' => "S",
        'Τ' => "T",
        'Υ' => "Y",
        'Φ' => "F",
        'Χ' => "CH",
        'Ψ' => "PS",
        _ => return None,
    };
    Some(letters)
}

/// The Georgian national romanisation (2002), which the Georgian test vectors follow
/// (`ვაჟა`→`VAZHA`, §2.8). Its apostrophes for ejective consonants are dropped, as ICAO
/// drops all apostrophes. Mtavruli capitals, which `char::to_uppercase` produces from the
/// everyday Mkhedruli letters, map like the Mkhedruli letter they stand for.
fn georgian_letter(character: char) -> Option<&'static str> {
    let mkhedruli = if MTAVRULI.contains(&character) {
        char::from_u32(u32::from(character) - MTAVRULI_OFFSET)?
    } else {
        character
    };
    let letters = match mkhedruli {
        'ა' => "A",
        'ბ' => "B",
        'გ' => "G",
        'დ' => "D",
        'ე' => "E",
        'ვ' => "V",
        'ზ' => "Z",
        'თ' | 'ტ' => "T",
        'ი' => "I",
        'კ' | 'ქ' => "K",
        'ლ' => "L",
        'მ' => "M",
        'ნ' => "N",
        'ო' => "O",
        'პ' | 'ფ' => "P",
        'ჟ' => "ZH",
        'რ' => "R",
        'ს' => "S",
        'უ' => "U",
        'ღ' => "GH",
        'ყ' => "Q",
        'შ' => "SH",
        'ჩ' | 'ჭ' => "CH",
        'ც' | 'წ' => "TS",
        'ძ' => "DZ",
        'ხ' => "KH",
        'ჯ' => "J",
        'ჰ' => "H",
        _ => return None,
    };
    Some(letters)
}

/// Apostrophes are removed rather than turned into `<` (`O'Leary`→`OLEARY`, §2.8). The middle
/// dot of Catalan `l·l` is treated the same way, since it sits inside a word.
fn is_removed(character: char) -> bool {
    matches!(
        character,
        '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{00B4}' | '\u{02BC}' | '\u{00B7}'
    )
}

/// Spaces, hyphens and other punctuation separate name parts (§2.8). The filler `<` itself is
/// a separator, which keeps the function idempotent.
fn is_separator(character: char) -> bool {
    character.is_whitespace()
        || character.is_ascii_punctuation()
        || matches!(
            character,
            '\u{00A1}' | '\u{00AB}' | '\u{00BB}' | '\u{00BF}'
                | '\u{2010}'..='\u{2017}'
                | '\u{201A}'..='\u{2027}'
                | '\u{2030}'..='\u{205E}'
                | '\u{2212}'
                | '\u{30FB}'
        )
}

/// The schema's maximum length of `fnt` and `gnt` (§2.8).
const MAX_LENGTH: usize = 80;

/// The ICAO filler character that stands for a separator.
const FILLER: char = '<';

const ASCII_UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Georgian Mtavruli capitals `Ა`..`Ჰ`, which sit a fixed distance above Mkhedruli `ა`..`ჰ`.
const MTAVRULI: std::ops::RangeInclusive<char> = '\u{1C90}'..='\u{1CB0}';
const MTAVRULI_OFFSET: u32 = 0x1C90 - 0x10D0;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &str) {
        assert_eq!(transliterate(input), expected, "input: {input:?}");
    }

    #[test]
    fn spec_examples() {
        check("d'Červenková Panklová", "DCERVENKOVA<PANKLOVA");
        check("Jiřina-Maria Alena", "JIRINA<MARIA<ALENA");
        check("Dießner Musterfrau", "DIESSNER<MUSTERFRAU");
        check("Erika Dörte", "ERIKA<DOERTE");
        check("Musterfrau-Gößinger", "MUSTERFRAU<GOESSINGER");
        check("Stanisław", "STANISLAW");
        check(
            "van der Achternaam-Leeuwarden",
            "VAN<DER<ACHTERNAAM<LEEUWARDEN",
        );
        check("O'Leary", "OLEARY");
        check("Þetta er að prófa", "THETTA<ER<AD<PROFA");
        check("François-Joan", "FRANCOIS<JOAN");
    }

    #[test]
    fn explicit_latin_mappings() {
        check("Åse Ærø", "AASE<AEROE");
        check("Œuvre Øystein", "OEUVRE<OEYSTEIN");
        check("Ĳsselmeer ĳs", "IJSSELMEER<IJS");
        check("ÄÖÜ äöü ẞ", "AEOEUE<AEOEUE<SS");
        check("Đurđević Ħal", "DURDEVIC<HAL");
        check("ŁUKASZ łódź", "LUKASZ<LODZ");
    }

    #[test]
    fn decomposed_input_matches_precomposed_input() {
        // `o` followed by U+0308 COMBINING DIAERESIS must become `OE` like `ö`.
        check("Do\u{0308}rte", "DOERTE");
        check("C\u{030C}erveny\u{0301}", "CERVENY");
    }

    #[test]
    fn cyrillic_russian() {
        check("Щербаков", "SHCHERBAKOV");
        check("Юлия", "IULIIA");
        check("Андрей Жуков", "ANDREI<ZHUKOV");
        check("Хрущёв", "KHRUSHCHEV");
        check("Цыбульская", "TSYBULSKAIA");
        check("Объедков Эдуард", "OBIEEDKOV<EDUARD");
    }

    #[test]
    fn cyrillic_national_letters() {
        check("Євген Ґудзь", "IEVGEN<GUDZ");
        check("Ірина Їжак", "IRINA<IZHAK");
        check("Ўладзімір", "ULADZIMIR");
        check("Ђорђе Јовановић", "DORDE<JOVANOVIC");
        check("Љубица Његовић", "LJUBITSA<NJEGOVIC");
        check("Ћирић Џаковић", "CIRIC<DZAKOVIC");
        check("Ѓорѓи Ќосе Ѕвонко", "GORGI<KOSE<DZVONKO");
    }

    #[test]
    fn greek() {
        check("Μενεξές", "MENEXES");
        check("Θεόδωρος Ψαράς", "THEODOROS<PSARAS");
        check("Χρυσή Ηλία", "CHRYSI<ILIA");
        check("Άγγελος Ϊάσων", "AGGELOS<IASON");
        check("ΦΩΤΕΙΝΗ", "FOTEINI");
    }

    #[test]
    fn georgian() {
        check("ვაჟა", "VAZHA");
        check("ვაჟა-ფშაველა", "VAZHA<PSHAVELA");
        check("ღვთისო ყიფიანი", "GHVTISO<QIPIANI");
        check("ჭავჭავაძე", "CHAVCHAVADZE");
        // Mtavruli capitals map like their Mkhedruli counterparts.
        check("\u{1C95}\u{1C90}\u{1C9F}\u{1C90}", "VAZHA");
    }

    #[test]
    fn separators_collapse_and_trim() {
        check("  --Anna ,  Maria--  ", "ANNA<MARIA");
        check("Anna\u{2013}Maria", "ANNA<MARIA");
        check("Anna<<Maria", "ANNA<MARIA");
        check("...", "");
        check("", "");
    }

    #[test]
    fn apostrophes_are_removed() {
        check(
            "D’Angelo d‘Arc O`Brien O´Neil Oʼhara",
            "DANGELO<DARC<OBRIEN<ONEIL<OHARA",
        );
        check("Col·lell", "COLLELL");
    }

    #[test]
    fn digits_and_unmapped_characters_are_dropped() {
        check("PREZIME01", "PREZIME");
        check("Anna 2 Maria", "ANNA<MARIA");
        check("王Anna😀", "ANNA");
    }

    #[test]
    fn compatibility_forms_are_folded() {
        check("Ｍüｌｌｅｒ", "MUELLER");
        check("ﬁnn", "FINN");
    }

    #[test]
    fn output_is_truncated_to_80_characters() {
        let long = "A".repeat(100);
        assert_eq!(transliterate(&long), "A".repeat(80));
        // A separator left at position 80 by the cut is dropped.
        let input = format!("{} B", "A".repeat(79));
        assert_eq!(transliterate(&input), "A".repeat(79));
        // A multi-letter mapping may be cut in the middle.
        let input = format!("{}Щ", "A".repeat(78));
        assert_eq!(transliterate(&input), format!("{}SH", "A".repeat(78)));
    }

    fn name_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-zA-Zäöüß ÆØÅæøåŁłĐđ'’ÉéÇç\\-.,<0-9]{0,120}",
            "[А-яЁёЄєІіЇїҐґЎўЂђЈјЉљЊњЋћЏџ ]{0,120}",
            "[Α-ωάέήίόύώϊΐ ]{0,120}",
            "[ა-ჰ\u{1C90}-\u{1CB0} -]{0,120}",
        ]
    }

    proptest! {
        #[test]
        fn output_uses_only_the_icao_alphabet(name in name_like()) {
            let output = transliterate(&name);
            prop_assert!(output.chars().all(|c| c.is_ascii_uppercase() || c == '<'), "{output:?}");
            prop_assert!(output.len() <= 80, "{output:?}");
            prop_assert!(!output.starts_with('<') && !output.ends_with('<'), "{output:?}");
            prop_assert!(!output.contains("<<"), "{output:?}");
        }

        #[test]
        fn transliteration_is_idempotent(name in name_like()) {
            let output = transliterate(&name);
            prop_assert_eq!(transliterate(&output), output);
        }
    }
}
